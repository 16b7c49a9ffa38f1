// SPC-4 7.8 / SBC-3 6.5: vital product data pages.
#include "scsi/vpd.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "scsi/block_limits.h"

namespace scsipub::scsi {

namespace {

constexpr uint8_t kSupportedPages[] = {0x00, 0x80, 0x83, 0x86, 0xB0, 0xB1, 0xB2};  // ascending
// A CD/DVD device (MMC-6) has no block pages; the initiators ask for these.
constexpr uint8_t kMmcSupportedPages[] = {0x00, 0x80, 0x83};

bool is_mmc(Command& cmd) { return cmd.lu().identity().device_type == lu::DeviceType::cd_dvd; }
constexpr size_t kMaxDesignatorLength = 252;
constexpr uint8_t kProtocolIscsi = 0x5;
constexpr uint8_t kCodeBinary = 1, kCodeAscii = 2, kCodeUtf8 = 3;
constexpr uint8_t kAssocLu = 0, kAssocPort = 1, kAssocDevice = 2;

uint64_t fnv1a(std::string_view a, std::string_view b) {
  uint64_t h = 1469598103934665603ull;
  for (char c : a) h = (h ^ uint8_t(c)) * 1099511628211ull;
  h = (h ^ 0xFF) * 1099511628211ull;
  for (char c : b) h = (h ^ uint8_t(c)) * 1099511628211ull;
  return h;
}

// SPC-4 7.8.6.6.3: NAA IEEE Registered (5h): NAA nibble, 24-bit OUI, 36-bit id.
uint64_t naa_designator(const lu::Identity& id) {
  uint64_t v = id.naa_id != 0 ? id.naa_id : fnv1a(id.serial, id.device_name);
  return (uint64_t{0x5} << 60) | (v & ((uint64_t{1} << 60) - 1));
}

std::string serial_of(const lu::Identity& id) {
  std::string s;
  for (char c : id.serial)
    if (c > 0x20 && c <= 0x7E && s.size() < 64) s.push_back(c);
  if (s.empty()) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(naa_designator(id)));
    s = buf;
  }
  return s;
}

// Appends page bytes with a running length, then fixes the header.
class PageWriter {
 public:
  PageWriter(Command& cmd, uint8_t page_code) {
    bytes_[0] = uint8_t(cmd.lu().identity().device_type);  // peripheral qualifier 000b, the LU's device type
    bytes_[1] = page_code;
    len_ = 4;
  }
  // Returns room for n more bytes, or nullptr when the page would outgrow the
  // buffer (cannot happen: a fresh page holds any fixed page, and the device
  // identification page has at most 7 designators of <= 256 bytes).
  uint8_t* grow(size_t n) {
    if (len_ + n > bytes_.size()) return nullptr;
    uint8_t* p = bytes_.data() + len_;
    len_ += n;
    return p;
  }
  // SPC-4 7.8.6.1: designation descriptor.
  void designator(uint8_t protocol, uint8_t code_set, bool piv, uint8_t association, uint8_t type,
                  const uint8_t* data, size_t n) {
    size_t padded = n;
    if (code_set == kCodeUtf8) padded = (n + 1 + 3) & ~size_t{3};  // NUL-terminated, multiple of 4
    padded = std::min(padded, kMaxDesignatorLength);
    n = std::min(n, padded);
    uint8_t* p = grow(4 + padded);
    if (p == nullptr) return;
    p[0] = uint8_t(protocol << 4 | code_set);
    p[1] = uint8_t((piv ? 0x80 : 0) | association << 4 | type);
    p[3] = uint8_t(padded);
    std::copy_n(data, n, p + 4);
    if (code_set == kCodeUtf8) p[4 + padded - 1] = 0;
  }
  void name_string(uint8_t protocol, bool piv, uint8_t association, std::string_view s) {
    s = s.substr(0, kMaxDesignatorLength - 4);
    designator(protocol, kCodeUtf8, piv, association, 0x8, reinterpret_cast<const uint8_t*>(s.data()), s.size());
  }
  void finish(Command& cmd) {
    store_be16(bytes_.data() + 2, uint16_t(len_ - 4));
    uint8_t* out = cmd.reply(len_);
    std::copy_n(bytes_.data(), len_, out);
  }

 private:
  std::array<uint8_t, 2048> bytes_{};
  size_t len_ = 0;
};

void supported_pages(Command& cmd) {
  PageWriter w(cmd, 0x00);
  std::span<const uint8_t> pages = kSupportedPages;
  if (is_mmc(cmd)) pages = kMmcSupportedPages;
  uint8_t* p = w.grow(pages.size());
  std::copy(pages.begin(), pages.end(), p);
  w.finish(cmd);
}

// SPC-4 7.8.15 Unit Serial Number.
void unit_serial(Command& cmd) {
  std::string s = serial_of(cmd.lu().identity());
  PageWriter w(cmd, 0x80);
  uint8_t* p = w.grow(s.size());
  std::copy(s.begin(), s.end(), p);
  w.finish(cmd);
}

// SPC-4 7.8.6 Device Identification: LU designators (NAA, T10 vendor id,
// SCSI name) plus the target port ones LIO reports (relative target port,
// target port group, port and device names).
void device_identification(Command& cmd) {
  const auto& id = cmd.lu().identity();
  PageWriter w(cmd, 0x83);

  uint8_t naa[8];
  store_be64(naa, naa_designator(id));
  w.designator(0, kCodeBinary, false, kAssocLu, 0x3, naa, sizeof naa);

  // SPC-4 7.8.6.4: T10 VENDOR IDENTIFICATION (8 bytes) + vendor specific.
  std::string t10(8, ' ');
  for (size_t i = 0; i < 8 && i < id.vendor.size(); ++i) t10[i] = id.vendor[i];
  t10 += serial_of(id);
  w.designator(0, kCodeAscii, false, kAssocLu, 0x1, reinterpret_cast<const uint8_t*>(t10.data()), t10.size());

  if (!id.device_name.empty()) w.name_string(0, false, kAssocLu, id.device_name);

  uint16_t tpg = 1;
  std::string_view target;
  if (const auto* nexus = cmd.task().nexus) {
    tpg = nexus->target_portal_group;
    target = nexus->target_name;
  }
  uint8_t port[4] = {0, 0, 0, 1};  // SPC-4 7.8.6.7: relative target port 1
  w.designator(kProtocolIscsi, kCodeBinary, true, kAssocPort, 0x4, port, sizeof port);
  uint8_t group[4] = {0, 0, 0, 0};  // SPC-4 7.8.6.8: target port group
  store_be16(group + 2, tpg);
  w.designator(kProtocolIscsi, kCodeBinary, true, kAssocPort, 0x5, group, sizeof group);
  if (!target.empty()) {
    // SPC-4 7.8.6.11 / RFC 7143 13.5.1: iSCSI port name "<iqn>,t,0x<tpgt>".
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, ",t,0x%04x", unsigned{tpg});
    std::string port_name(target.substr(0, 200));
    port_name += suffix;
    w.name_string(kProtocolIscsi, true, kAssocPort, port_name);
    w.name_string(kProtocolIscsi, true, kAssocDevice, target.substr(0, 200));
  }
  w.finish(cmd);
}

// SPC-4 7.8.7 Extended INQUIRY Data.
void extended_inquiry(Command& cmd) {
  PageWriter w(cmd, 0x86);
  uint8_t* p = w.grow(0x3C);
  p[1] = 0x07;  // HEADSUP, ORDSUP, SIMPSUP
  w.finish(cmd);
}

// SBC-3 6.5.3 Block Limits.
void block_limits(Command& cmd) {
  const bool thin = cmd.store().thin_provisioned();
  PageWriter w(cmd, 0xB0);
  uint8_t* p = w.grow(0x3C) - 4;  // index by page offset
  p[4] = limits::kWriteSameNonZero ? 0x01 : 0x00;
  p[5] = limits::kMaxCompareAndWriteBlocks;
  store_be16(p + 6, limits::kOptimalTransferGranularity);
  store_be32(p + 8, limits::kMaxTransferBlocks);
  store_be32(p + 12, limits::kOptimalTransferBlocks);
  store_be32(p + 16, 0);  // MAXIMUM PREFETCH LENGTH: PRE-FETCH is a no-op
  if (thin) {
    store_be32(p + 20, limits::kMaxUnmapLbaCount);
    store_be32(p + 24, limits::kMaxUnmapDescriptors);
    store_be32(p + 28, limits::kOptimalUnmapGranularity);
    store_be32(p + 32, 0x80000000u);  // UGAVALID, alignment 0
  }
  store_be64(p + 36, limits::kMaxWriteSameBlocks);
  w.finish(cmd);
}

// SBC-3 6.5.2 Block Device Characteristics.
void block_device_characteristics(Command& cmd) {
  PageWriter w(cmd, 0xB1);
  uint8_t* p = w.grow(0x3C) - 4;
  store_be16(p + 4, 0x0001);  // MEDIUM ROTATION RATE: non-rotating medium
  w.finish(cmd);
}

// SBC-3 6.5.4 Logical Block Provisioning.
void logical_block_provisioning(Command& cmd) {
  const bool thin = cmd.store().thin_provisioned();
  PageWriter w(cmd, 0xB2);
  uint8_t* p = w.grow(4) - 4;
  if (thin) {
    p[5] = 0x80 | 0x40 | 0x20 | 0x04;  // LBPU, LBPWS, LBPWS10, LBPRZ
    p[6] = 0x02;                       // PROVISIONING TYPE: thin
  }
  w.finish(cmd);
}

}  // namespace

void build_vpd_page(Command& cmd, uint8_t page_code) {
  if (is_mmc(cmd) && page_code != 0x00 && page_code != 0x80 && page_code != 0x83) {
    cmd.invalid_cdb_field(2);
    return;
  }
  switch (page_code) {
    case 0x00: return supported_pages(cmd);
    case 0x80: return unit_serial(cmd);
    case 0x83: return device_identification(cmd);
    case 0x86: return extended_inquiry(cmd);
    case 0xB0: return block_limits(cmd);
    case 0xB1: return block_device_characteristics(cmd);
    case 0xB2: return logical_block_provisioning(cmd);
    default:
      // SPC-4 6.6.1: an unsupported VPD page is an invalid PAGE CODE.
      cmd.invalid_cdb_field(2);
  }
}

}  // namespace scsipub::scsi
