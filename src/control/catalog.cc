#include "control/catalog.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <system_error>

#include "db/meta_store.h"

namespace scsipub::control {
namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

bool ends_with_ci(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  auto tail = s.substr(s.size() - suffix.size());
  return std::equal(tail.begin(), tail.end(), suffix.begin(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == b;
  });
}

// The file behind `path` (symlinks followed); nullopt when stat fails.
std::optional<FileIdentity> identify(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return FileIdentity{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
                      int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec};
}

}  // namespace

Presentation presentation_for(ImageKind kind, std::string_view setting) {
  if (setting == "disk") return Presentation::disk;
  if (setting == "dvd") return Presentation::dvd;
  return kind == ImageKind::iso ? Presentation::dvd : Presentation::disk;
}

Catalog::Catalog(std::filesystem::path dir, db::MetaStore* meta)
    : dir_(std::move(dir)), meta_(meta), entries_(std::make_shared<const std::vector<CatalogEntry>>()) {}

Catalog::Snapshot Catalog::snapshot() const {
  std::lock_guard lock(mu_);
  return entries_;
}

uint64_t Catalog::generation() const {
  std::lock_guard lock(mu_);
  return generation_;
}

bool valid_image_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxImageNameLength) return false;
  if (!std::all_of(name.begin(), name.end(), is_name_char)) return false;
  const char first = name.front();
  if (first == '.' || first == '-') return false;
  if (name.back() == '.') return false;
  return name.find("..") == std::string_view::npos;
}

std::optional<ParsedImageName> parse_image_file_name(std::string_view file_name) {
  // Extensions are matched case-insensitively so "X.ISO" is not silently
  // ignored; the name itself must still pass valid_image_name.
  ImageKind kind;
  if (ends_with_ci(file_name, ".img")) {
    kind = ImageKind::raw;
  } else if (ends_with_ci(file_name, ".iso")) {
    kind = ImageKind::iso;
  } else {
    return std::nullopt;
  }
  std::string_view stem = file_name.substr(0, file_name.size() - 4);
  if (!valid_image_name(stem)) return std::nullopt;
  return ParsedImageName{std::string(stem), kind};
}

Status Catalog::rescan() {
  std::lock_guard rescan_lock(rescan_mu_);
  std::map<std::string, db::CatalogImage, std::less<>> rows;
  if (meta_ != nullptr) {
    auto listed = meta_->list_catalog_images();
    if (listed.ok()) {
      for (auto& r : *listed) rows.emplace(r.name, std::move(r));
    } else {
      // Serve the files without titles rather than nothing at all.
      spdlog::warn("catalog: cannot read image metadata: {}", listed.error().message);
    }
  }
  std::error_code ec;
  std::filesystem::directory_iterator it(dir_, ec);
  if (ec) return fail("catalog: cannot read " + dir_.string() + ": " + ec.message());

  std::vector<CatalogEntry> found;
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    const auto& entry = *it;
    const std::string file_name = entry.path().filename().string();
    const bool image_ext = ends_with_ci(file_name, ".img") || ends_with_ci(file_name, ".iso");
    if (!image_ext) continue;  // READMEs, checksums, partial downloads: not ours to judge
    auto parsed = parse_image_file_name(file_name);
    if (!parsed) {
      spdlog::warn("catalog: skipping {}: name must be 1-{} chars of a-z 0-9 . - "
                   "(no uppercase, no leading . or -, no ..)",
                   entry.path().string(), kMaxImageNameLength);
      continue;
    }
    // Follows symlinks (the operator may link images in from elsewhere), but
    // the target must be a regular file: a FIFO or device is never an image.
    std::error_code st_ec;
    if (!entry.is_regular_file(st_ec)) {
      spdlog::warn("catalog: skipping {}: not a regular file", entry.path().string());
      continue;
    }
    uint64_t size = entry.file_size(st_ec);
    if (st_ec) {
      spdlog::warn("catalog: skipping {}: {}", entry.path().string(), st_ec.message());
      continue;
    }
    if (size == 0) {
      spdlog::warn("catalog: skipping {}: empty file", entry.path().string());
      continue;
    }
    auto file = identify(entry.path());
    if (!file) continue;  // gone between listing and stat
    CatalogEntry e{parsed->name, entry.path(), size, parsed->kind, presentation_for(parsed->kind, "auto"), *file};
    if (auto row = rows.find(parsed->name); row != rows.end()) {
      e.presentation = presentation_for(parsed->kind, row->second.presentation);
      e.title = row->second.title;
      e.description = row->second.description;
      e.sha256 = row->second.sha256;
      e.source_format = row->second.source_format;
      e.added_at = std::chrono::duration_cast<std::chrono::seconds>(row->second.added_at.time_since_epoch()).count();
    }
    found.push_back(std::move(e));
  }
  if (ec) return fail("catalog: error listing " + dir_.string() + ": " + ec.message());

  // Sorting by (name, path) makes the winner of a duplicate deterministic:
  // "x.img" beats "x.iso" by path order.
  std::sort(found.begin(), found.end(), [](const CatalogEntry& a, const CatalogEntry& b) {
    return a.name != b.name ? a.name < b.name : a.path < b.path;
  });
  std::vector<CatalogEntry> unique;
  for (auto& e : found) {
    if (!unique.empty() && unique.back().name == e.name) {
      spdlog::warn("catalog: skipping {}: name '{}' already taken by {}", e.path.string(), e.name,
                   unique.back().path.string());
      continue;
    }
    unique.push_back(std::move(e));
  }
  std::lock_guard lock(mu_);
  if (*entries_ != unique) {
    entries_ = std::make_shared<const std::vector<CatalogEntry>>(std::move(unique));
    ++generation_;
  }
  return ok_status();
}

std::optional<CatalogEntry> Catalog::find(std::string_view name) const {
  const Snapshot entries = snapshot();
  auto it = std::lower_bound(entries->begin(), entries->end(), name,
                             [](const CatalogEntry& e, std::string_view n) { return e.name < n; });
  if (it == entries->end() || it->name != name) return std::nullopt;
  return *it;
}

}  // namespace scsipub::control
