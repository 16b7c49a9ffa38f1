#include "app/image_cli.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <map>

#include "app/meta_store_open.h"
#include "app/progress_display.h"
#include "control/catalog.h"
#include "ingest/image_ingest.h"

namespace scsipub::app {
namespace {

namespace fs = std::filesystem;

std::string rfc3339(db::Timestamp t) { return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", t); }

// Titles and descriptions end up on terminals and web pages: no control
// characters (a newline is allowed in a description).
bool printable(const std::string& text, bool allow_newline) {
  for (unsigned char c : text) {
    if (c == '\n' && allow_newline) continue;
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

Status check_add_options(const ImageAddOptions& o) {
  if (!control::valid_image_name(o.name)) {
    return fail("invalid image name '" + o.name + "' (1..64 of a-z 0-9 . -, starting with a letter or digit)");
  }
  if (o.title.size() > db::kMaxCatalogTitle || !printable(o.title, false)) {
    return fail(fmt::format("--title must be at most {} printable characters", db::kMaxCatalogTitle));
  }
  if (o.description.size() > db::kMaxCatalogDescription || !printable(o.description, true)) {
    return fail(fmt::format("--description must be at most {} printable characters", db::kMaxCatalogDescription));
  }
  if (o.presentation != "auto" && o.presentation != "disk" && o.presentation != "dvd") {
    return fail("--presentation must be auto, disk or dvd");
  }
  return ok_status();
}

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

template <class F>
int with_store(const Config& cfg, F f) {
  auto store = open_meta_store(cfg);
  if (!store.ok()) {
    std::cerr << "scsipub: " << describe_database(cfg) << ": " << store.error().message << "\n";
    return 1;
  }
  return f(**store);
}

}  // namespace

int image_add(db::MetaStore& store, const Config& cfg, const ImageAddOptions& o, std::ostream& out, std::ostream& err,
              bool terminal, const std::atomic<bool>* cancel) {
  if (auto s = check_add_options(o); !s) {
    err << "scsipub: " << s.error().message << "\n";
    return 2;
  }
  std::error_code ec;
  fs::create_directories(cfg.images_dir, ec);
  auto previous = store.get_catalog_image(o.name);
  if (!previous.ok()) {
    err << "scsipub: reading the catalog: " << previous.error().message << "\n";
    return 1;
  }
  ProgressDisplay display(err, terminal);
  ingest::IngestRequest request;
  request.name = o.name;
  request.source = o.source;
  request.sha256 = o.sha256;
  request.images_dir = cfg.images_dir;
  request.limits = cfg.catalog;
  request.replace = o.replace;
  request.progress = [&](const ingest::IngestProgress& p) { display.update(p); };
  request.cancel = cancel;
  auto prepared = ingest::prepare_image(request);
  display.finish();
  if (!prepared.ok()) {
    err << "scsipub: image add " << o.name << ": " << prepared.error().message << "\n";
    return 1;
  }
  const ingest::IngestResult& r = prepared->result();
  if (r.source.size() > db::kMaxCatalogSource) {
    err << "scsipub: image add " << o.name << ": the source is longer than " << db::kMaxCatalogSource
        << " characters\n";
    return 1;
  }
  db::CatalogImage row{o.name,        o.title,  o.description,  r.size_bytes,
                       r.sha256,      r.source_format, r.source, o.presentation,
                       std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now())};
  // The row first: a running server reads it when the rename shows it the file.
  if (auto s = store.put_catalog_image(row); !s) {
    err << "scsipub: image add " << o.name << ": recording it in the catalog: " << s.error().message << "\n";
    return 1;
  }
  if (auto s = prepared->commit(); !s) {
    // Undo the row (or put back the one it replaced): no row without its file.
    Status undo = ok_status();
    if (previous->has_value()) {
      undo = store.put_catalog_image(**previous);
    } else if (auto d = store.delete_catalog_image(o.name); !d.ok()) {
      undo = fail(d.error().message);
    }
    err << "scsipub: image add " << o.name << ": " << s.error().message
        << (undo.ok() ? "" : " (and the catalog row could not be undone)") << "\n";
    return 1;
  }
  out << fmt::format("added image {} ({}, {} bytes, from {}, sha256 {})\n", o.name, r.path.filename().string(),
                     r.size_bytes, r.source_format, r.sha256);
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
  if (!control::valid_image_name(name)) {
    err << "scsipub: invalid image name '" << name << "'\n";
    return 2;
  }
  auto deleted = store.delete_catalog_image(name);
  if (!deleted.ok()) {
    err << "scsipub: image remove " << name << ": " << deleted.error().message << "\n";
    return 1;
  }
  std::vector<std::string> unlinked;
  for (const char* ext : {".img", ".iso"}) {
    const fs::path file = cfg.images_dir / (name + ext);
    if (::unlink(file.c_str()) == 0) {
      unlinked.push_back(file.filename().string());
    } else if (errno != ENOENT) {
      err << "scsipub: image remove " << name << ": unlink " << file.string() << ": " << std::strerror(errno) << "\n";
      return 1;
    }
  }
  if (!*deleted && unlinked.empty()) {
    err << "scsipub: no image named " << name << "\n";
    return 1;
  }
  std::string files;
  for (const auto& f : unlinked) files += (files.empty() ? "" : ", ") + f;
  out << "removed image " << name << ": " << (*deleted ? "catalog row deleted" : "there was no catalog row") << "; "
      << (unlinked.empty() ? "there was no file" : files + " unlinked (sessions using it keep reading it until they log out)")
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
  return with_store(cfg, [&](db::MetaStore& s) {
    return image_add(s, cfg, options, std::cout, std::cerr, ::isatty(STDERR_FILENO) == 1, &interrupted);
  });
}
int image_list(const Config& cfg, bool json) {
  return with_store(cfg, [&](db::MetaStore& s) { return image_list(s, cfg, json, std::cout, std::cerr); });
}
int image_remove(const Config& cfg, const std::string& name) {
  return with_store(cfg, [&](db::MetaStore& s) { return image_remove(s, cfg, name, std::cout, std::cerr); });
}

}  // namespace scsipub::app
