#include "ingest/qemu_img_info.h"

#include <nlohmann/json.hpp>

namespace scsipub::ingest {
namespace {

using nlohmann::json;

const json* member(const json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

// An extent outside the image file: qemu opens it as a path on our host.
Status check_vmdk_extents(const json& data, const std::string& image_filename) {
  const json* extents = member(data, "extents");
  if (extents == nullptr) return ok_status();
  if (!extents->is_array()) return fail("qemu-img info: vmdk extents is not a list");
  for (const json& extent : *extents) {
    const json* filename = member(extent, "filename");
    if (filename == nullptr || !filename->is_string()) return fail("qemu-img info: vmdk extent without a file name");
    if (filename->get<std::string>() != image_filename) {
      return fail("vmdk image has an extent in another file (a path on this host)");
    }
  }
  return ok_status();
}

}  // namespace

Result<QemuImageInfo> parse_qemu_img_info(std::string_view json_text, std::string_view expected_format,
                                          uint64_t max_virtual_size) {
  // No exceptions escape: allow_exceptions=false yields a discarded value.
  const json root = json::parse(json_text.begin(), json_text.end(), nullptr, false);
  if (root.is_discarded() || !root.is_object()) return fail("qemu-img info: output is not a JSON object");
  for (std::string_view key : {"backing-filename", "full-backing-filename", "backing-filename-format"}) {
    if (member(root, key) != nullptr) {
      return fail("image has a backing file (a path on this host); convert it to a standalone image first");
    }
  }
  if (const json* e = member(root, "encrypted"); e != nullptr && (!e->is_boolean() || e->get<bool>())) {
    return fail("image is encrypted");
  }
  QemuImageInfo info;
  const json* format = member(root, "format");
  if (format == nullptr || !format->is_string()) return fail("qemu-img info: no format");
  info.format = format->get<std::string>();
  if (info.format != expected_format) {
    return fail("qemu-img info: format " + info.format + ", expected " + std::string(expected_format));
  }
  const json* size = member(root, "virtual-size");
  if (size == nullptr || !size->is_number_unsigned()) return fail("qemu-img info: no virtual size");
  info.virtual_size = size->get<uint64_t>();
  if (info.virtual_size > max_virtual_size) {
    return fail("virtual size " + std::to_string(info.virtual_size) + " bytes is above the cap of " +
                std::to_string(max_virtual_size) + " ([catalog] max_virtual_size)");
  }
  std::string filename;
  if (const json* f = member(root, "filename"); f != nullptr && f->is_string()) filename = f->get<std::string>();
  if (const json* specific = member(root, "format-specific"); specific != nullptr) {
    const json* data = member(*specific, "data");
    if (data != nullptr) {
      if (member(*data, "data-file") != nullptr) {
        return fail("qcow2 image has an external data file (a path on this host)");
      }
      if (auto s = check_vmdk_extents(*data, filename); !s) return fail(s.error().message);
    }
  }
  return info;
}

}  // namespace scsipub::ingest
