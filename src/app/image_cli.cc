#include "app/image_cli.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <unistd.h>

#include <iostream>
#include <map>

#include "app/image_import.h"
#include "app/meta_store_open.h"
#include "app/progress_display.h"
#include "control/catalog.h"
#include "control/catalog_edit.h"

namespace scsipub::app {
namespace {

namespace fs = std::filesystem;

std::string rfc3339(db::Timestamp t) { return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", t); }

// The catalog files in the directory, by name (NAME.img / NAME.iso).
std::map<std::string, fs::path> catalog_files(const fs::path& dir) {
  std::map<std::string, fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    auto parsed = control::parse_image_file_name(entry.path().filename().string());
    if (parsed) files.emplace(parsed->name, entry.path());
  }
  return files;
}

}  // namespace

int image_add(db::MetaStore& store, const Config& cfg, const ImageAddOptions& o, std::ostream& out, std::ostream& err,
              bool terminal, const std::atomic<bool>* cancel) {
  if (auto s = validate_add_request(o); !s) {
    err << "scsipub: " << s.error().message << "\n";
    return 2;
  }
  ProgressDisplay display(err, terminal);
  auto imported = import_image(
      store, cfg.images_dir, cfg.catalog, o, [&](const ingest::IngestProgress& p) { display.update(p); }, cancel,
      nullptr);
  display.finish();
  if (!imported.ok()) {
    err << "scsipub: image add " << o.name << ": " << imported.error().message << "\n";
    return 1;
  }
  out << fmt::format("added image {} ({}, {} bytes, from {}, sha256 {})\n", o.name, imported->path.filename().string(),
                     imported->size_bytes, imported->source_format, imported->sha256);
  return 0;
}

int image_list(db::MetaStore& store, const Config& cfg, bool json, std::ostream& out, std::ostream& err) {
  auto rows = store.list_catalog_images();
  if (!rows.ok()) {
    err << "scsipub: " << rows.error().message << "\n";
    return 1;
  }
  auto files = catalog_files(cfg.images_dir);
  std::map<std::string, const db::CatalogImage*> by_name;
  for (const auto& row : *rows) by_name.emplace(row.name, &row);
  std::map<std::string, bool> names;
  for (const auto& [name, path] : files) names[name] = true;
  for (const auto& [name, row] : by_name) names[name] = true;
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [name, unused] : names) {
    const auto file = files.find(name);
    const auto row = by_name.find(name);
    const db::CatalogImage* meta = row == by_name.end() ? nullptr : row->second;
    std::error_code ec;
    const uint64_t size = file != files.end() ? fs::file_size(file->second, ec) : (meta ? meta->size_bytes : 0);
    const std::string file_name = file != files.end() ? file->second.filename().string() : "";
    if (json) {
      nlohmann::json item{{"name", name}, {"file", file_name}, {"size_bytes", size}, {"has_metadata", meta != nullptr}};
      if (meta != nullptr) {
        item["title"] = meta->title;
        item["description"] = meta->description;
        item["sha256"] = meta->sha256;
        item["source_format"] = meta->source_format;
        item["source"] = meta->source;
        item["presentation"] = meta->presentation;
        item["added_at"] = rfc3339(meta->added_at);
      }
      list.push_back(std::move(item));
    } else {
      out << fmt::format("{:<24} {:>10}  {:<10} {:<5} {:<20}  {}\n", name, human_bytes(size),
                         meta ? meta->source_format : "-", meta ? meta->presentation : "auto",
                         meta ? rfc3339(meta->added_at) : "-",
                         file == files.end() ? "(file missing)" : (meta ? meta->title : "(no metadata)"));
    }
  }
  if (json) out << list.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  return 0;
}

int image_remove(db::MetaStore& store, const Config& cfg, const std::string& name, std::ostream& out,
                 std::ostream& err) {
  auto removed = control::remove_catalog_image(cfg.images_dir, store, name);
  if (!removed.ok()) {
    err << "scsipub: image remove " << name << ": " << removed.error().message << "\n";
    return 1;
  }
  out << "removed image " << name << ": " << (removed->row ? "catalog row deleted" : "there was no catalog row")
      << "; "
      << (removed->files == 0 ? std::string("there was no file")
                              : fmt::format("{} file(s) unlinked (sessions using it keep reading it until they log out)",
                                            removed->files))
      << "\n";
  return 0;
}

namespace {
// Set from the SIGINT/SIGTERM handler: the one process-wide flag a signal
// handler can reach. A lock-free atomic store is async-signal-safe.
std::atomic<bool> interrupted{false};
extern "C" void on_interrupt(int) { interrupted.store(true); }
}  // namespace

int image_add(const Config& cfg, const ImageAddOptions& options) {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  return with_meta_store(cfg, [&](db::MetaStore& s) {
    return image_add(s, cfg, options, std::cout, std::cerr, ::isatty(STDERR_FILENO) == 1, &interrupted);
  });
}
int image_list(const Config& cfg, bool json) {
  return with_meta_store(cfg, [&](db::MetaStore& s) { return image_list(s, cfg, json, std::cout, std::cerr); });
}
int image_remove(const Config& cfg, const std::string& name) {
  return with_meta_store(cfg, [&](db::MetaStore& s) { return image_remove(s, cfg, name, std::cout, std::cerr); });
}

}  // namespace scsipub::app
