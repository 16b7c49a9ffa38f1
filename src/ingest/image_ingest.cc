#include "ingest/image_ingest.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "ingest/bounded_copy.h"
#include "ingest/content_format.h"
#include "ingest/converters.h"
#include "ingest/file_digest.h"
#include "ingest/http_download.h"
#include "ingest/qcow2_header.h"
#include "ingest/source_spec.h"
#include "common/unique_fd.h"

namespace scsipub::ingest {
namespace {

namespace fs = std::filesystem;

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

// The bytes the sniffer and the qcow2 header check look at.
struct FileEdges {
  std::vector<uint8_t> head;
  std::vector<uint8_t> tail;
};

Result<FileEdges> read_edges(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fail(errno_text("fstat"));
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  FileEdges edges;
  edges.head.resize(static_cast<size_t>(std::min<uint64_t>(size, kSniffHeadBytes)));
  edges.tail.resize(size >= kSniffTailBytes ? kSniffTailBytes : 0);
  auto read_at = [&](std::vector<uint8_t>& into, uint64_t offset) -> Status {
    size_t done = 0;
    while (done < into.size()) {
      const ssize_t n = ::pread(fd, into.data() + done, into.size() - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return fail(errno_text("read"));
      done += static_cast<size_t>(n);
    }
    return ok_status();
  };
  if (auto s = read_at(edges.head, 0); !s) return fail(s.error().message);
  if (auto s = read_at(edges.tail, size - edges.tail.size()); !s) return fail(s.error().message);
  return edges;
}

Result<uint64_t> file_size(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fail(errno_text("fstat"));
  return static_cast<uint64_t>(st.st_size);
}

std::string lower_hex(std::string hex) {
  std::transform(hex.begin(), hex.end(), hex.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return hex;
}

fs::path catalog_path(const IngestRequest& r, bool iso) { return r.images_dir / (r.name + (iso ? ".iso" : ".img")); }

Status refuse_existing(const IngestRequest& r) {
  if (r.replace) return ok_status();
  for (bool iso : {false, true}) {
    std::error_code ec;
    if (fs::exists(fs::symlink_status(catalog_path(r, iso), ec))) {
      return fail("image " + r.name + " already exists (" + catalog_path(r, iso).filename().string() +
                  "); use --replace to replace it");
    }
  }
  return ok_status();
}

// Where the bytes currently are: the operator's file, or one of our temp files.
struct Stage {
  std::optional<TempFile> temp;  // set when the bytes live in a temp file of ours
  UniqueFd local;                // set for the operator's own file
  fs::path path;

  int fd() const { return temp ? temp->fd() : local.get(); }
};

class Ingest {
 public:
  explicit Ingest(const IngestRequest& r)
      : r_(r),
        progress_{r.progress, r.cancel},
        converter_{r.limits.converter_timeout, r.limits.converter_memory},
        space_{0, {}, r.images_dir, r.limits.reserve_free_bytes} {}

  Result<PreparedImage> run();

 private:
  Status fetch(const SourceSpec& spec);
  Status check_source_sha256();
  Result<ContentFormat> sniff(const Stage& stage);
  Status decompress_stage(ContentFormat compression);
  Status to_raw(ContentFormat format);

  const IngestRequest& r_;
  ProgressSink progress_;
  ConverterLimits converter_;
  WriterLimits space_;
  Stage source_;
  std::optional<TempFile> output_;
  std::string source_format_;
};

Status Ingest::fetch(const SourceSpec& spec) {
  if (spec.kind == SourceKind::http) {
    auto temp = TempFile::create(r_.images_dir, r_.name);
    if (!temp.ok()) return fail(temp.error().message);
    source_.temp.emplace(std::move(*temp));
    source_.path = source_.temp->path();
    DownloadLimits limits;
    limits.max_bytes = r_.limits.max_download_bytes;
    limits.connect_timeout = r_.limits.download_connect_timeout;
    limits.stall_timeout = r_.limits.download_stall_timeout;
    auto got = download_url(spec.location, source_.temp->fd(), limits, space_, progress_);
    if (!got.ok()) return fail(got.error().message);
    return ok_status();
  }
  source_.path = fs::absolute(spec.location);
  // O_NONBLOCK: opening a FIFO must not hang; regular files ignore it.
  source_.local = UniqueFd(::open(source_.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!source_.local.valid()) return fail(errno_text(spec.location));
  struct stat st {};
  if (::fstat(source_.local.get(), &st) != 0) return fail(errno_text(spec.location));
  if (!S_ISREG(st.st_mode)) return fail(spec.location + " is not a regular file");
  if (static_cast<uint64_t>(st.st_size) > r_.limits.max_download_bytes) {
    return fail(spec.location + " is larger than " + std::to_string(r_.limits.max_download_bytes) +
                " bytes ([catalog] max_download_bytes)");
  }
  const int flags = ::fcntl(source_.local.get(), F_GETFL);
  ::fcntl(source_.local.get(), F_SETFL, flags & ~O_NONBLOCK);
  return ok_status();
}

Status Ingest::check_source_sha256() {
  if (!r_.sha256) return ok_status();
  if (!valid_sha256_hex(*r_.sha256)) return fail("--sha256 must be 64 hex digits");
  auto actual = sha256_of_fd(source_.fd(), progress_, "checksum");
  if (!actual.ok()) return fail(actual.error().message);
  if (*actual != lower_hex(*r_.sha256)) {
    return fail("sha256 mismatch: expected " + lower_hex(*r_.sha256) + ", the source has " + *actual);
  }
  return ok_status();
}

Result<ContentFormat> Ingest::sniff(const Stage& stage) {
  auto edges = read_edges(stage.fd());
  if (!edges.ok()) return fail(edges.error().message);
  const SniffResult sniffed = sniff_content(edges->head, edges->tail);
  if (sniffed.format == ContentFormat::refused) return fail(sniffed.reason);
  if (sniffed.format == ContentFormat::qcow2) {
    auto header = check_qcow2_header(edges->head, r_.limits.max_virtual_size);
    if (!header.ok()) return fail(header.error().message);
  }
  return sniffed.format;
}

Status Ingest::decompress_stage(ContentFormat compression) {
  if (auto s = check_free_space(r_.images_dir, 0, r_.limits.reserve_free_bytes); !s) return s;
  auto temp = TempFile::create(r_.images_dir, r_.name);
  if (!temp.ok()) return fail(temp.error().message);
  WriterLimits cap = space_;
  cap.cap = r_.limits.max_virtual_size;
  cap.cap_message = "decompressed size is above the cap of " + std::to_string(cap.cap) +
                    " bytes ([catalog] max_virtual_size)";
  BoundedWriter writer(temp->fd(), 0, cap, progress_, "decompress", 0);
  auto n = decompress(source_.fd(), compression, writer, converter_, progress_);
  if (!n.ok()) return fail(n.error().message);
  source_format_ = std::string(format_name(compression)) + "+";
  // The decompressed file is the source from now on; the compressed one goes.
  Stage next;
  next.path = temp->path();
  next.temp.emplace(std::move(*temp));
  source_ = std::move(next);
  return ok_status();
}

Status Ingest::to_raw(ContentFormat format) {
  if (!needs_conversion(format)) {
    auto size = file_size(source_.fd());
    if (!size.ok()) return fail(size.error().message);
    if (*size == 0) return fail("the image is empty");
    if (*size > r_.limits.max_virtual_size) {
      return fail("image size " + std::to_string(*size) + " bytes is above the cap of " +
                  std::to_string(r_.limits.max_virtual_size) + " ([catalog] max_virtual_size)");
    }
    if (source_.temp) {  // downloaded or decompressed: our temp file already is the image
      output_.emplace(std::move(*source_.temp));
      source_.temp.reset();
      return ok_status();
    }
    if (auto s = check_free_space(r_.images_dir, *size, r_.limits.reserve_free_bytes); !s) return s;
    auto temp = TempFile::create(r_.images_dir, r_.name);
    if (!temp.ok()) return fail(temp.error().message);
    WriterLimits cap = space_;
    cap.cap = r_.limits.max_virtual_size;
    cap.cap_message = "the file grew past the cap while it was copied";
    BoundedWriter writer(temp->fd(), 0, cap, progress_, "copy", *size);
    if (::lseek(source_.fd(), 0, SEEK_SET) != 0) return fail(errno_text("seek"));
    auto copied = copy_bounded(source_.fd(), writer, progress_);
    if (!copied.ok()) return fail(copied.error().message);
    output_.emplace(std::move(*temp));
    return ok_status();
  }
  auto info = inspect_image(source_.path, format, r_.limits.max_virtual_size, converter_, progress_);
  if (!info.ok()) return fail(info.error().message);
  if (info->virtual_size == 0) return fail("the image is empty (virtual size 0)");
  if (auto s = check_image(source_.path, format, converter_, progress_); !s) return s;
  if (auto s = check_free_space(r_.images_dir, info->virtual_size, r_.limits.reserve_free_bytes); !s) return s;
  auto temp = TempFile::create(r_.images_dir, r_.name);
  if (!temp.ok()) return fail(temp.error().message);
  if (::ftruncate(temp->fd(), static_cast<off_t>(info->virtual_size)) != 0) return fail(errno_text("ftruncate"));
  if (auto s = convert_to_raw(source_.path, format, temp->path(), info->virtual_size, converter_, progress_); !s) {
    return s;
  }
  auto size = file_size(temp->fd());
  if (!size.ok()) return fail(size.error().message);
  if (*size != info->virtual_size) {
    return fail("qemu-img convert wrote " + std::to_string(*size) + " bytes, expected " +
                std::to_string(info->virtual_size));
  }
  output_.emplace(std::move(*temp));
  source_ = Stage{};  // the source temp file (if any) is not needed any more
  return ok_status();
}

Result<PreparedImage> Ingest::run() {
  std::error_code ec;
  if (!fs::is_directory(r_.images_dir, ec)) return fail("images directory " + r_.images_dir.string() + " does not exist");
  if (r_.name.empty() || r_.name.front() == '.' || r_.name.find('/') != std::string::npos) {
    return fail("invalid image name");
  }
  if (auto s = refuse_existing(r_); !s) return fail(s.error().message);
  auto spec = parse_source(r_.source);
  if (!spec.ok()) return fail(spec.error().message);
  if (auto s = check_free_space(r_.images_dir, 0, r_.limits.reserve_free_bytes); !s) return fail(s.error().message);
  if (auto s = fetch(*spec); !s) return fail(s.error().message);
  if (auto s = check_source_sha256(); !s) return fail(s.error().message);
  auto format = sniff(source_);
  if (!format.ok()) return fail(format.error().message);
  if (is_compression(*format)) {
    if (auto s = decompress_stage(*format); !s) return fail(s.error().message);
    format = sniff(source_);
    if (!format.ok()) return fail(format.error().message);
    if (is_compression(*format)) return fail("nested compression is not accepted");
  }
  if (auto s = to_raw(*format); !s) return fail(s.error().message);

  IngestResult result;
  result.source = spec->for_record;
  auto stored = read_edges(output_->fd());
  if (!stored.ok()) return fail(stored.error().message);
  result.iso = sniff_content(stored->head, stored->tail).format == ContentFormat::iso;
  result.source_format = source_format_ + std::string(*format == ContentFormat::raw && result.iso
                                                          ? "iso"
                                                          : format_name(*format));
  auto size = file_size(output_->fd());
  if (!size.ok()) return fail(size.error().message);
  result.size_bytes = *size;
  if (auto s = output_->sync(); !s) return fail(s.error().message);
  auto digest = sha256_of_fd(output_->fd(), progress_, "sha256");
  if (!digest.ok()) return fail(digest.error().message);
  result.sha256 = *digest;
  result.path = catalog_path(r_, result.iso);
  if (auto s = refuse_existing(r_); !s) return fail(s.error().message);
  return PreparedImage(std::move(*output_), std::move(result), r_.replace);
}

}  // namespace

Status PreparedImage::commit() {
  if (auto s = file_.commit(result_.path, replace_); !s) return s;
  if (replace_) {
    // NAME.img replaced by NAME.iso (or back): one name, one file.
    fs::path other = result_.path;
    other.replace_extension(result_.iso ? ".img" : ".iso");
    std::error_code ec;
    if (fs::remove(other, ec)) return sync_directory(result_.path.parent_path());
  }
  return ok_status();
}

// Every refusal by a limit names its [catalog] key in the message (so the
// operator knows what to raise); the counter follows the key.
void count_refusal(const IngestRequest& request, const std::string& message) {
  if (request.limit_events == nullptr) return;
  auto names = [&](std::string_view key) { return message.find(key) != std::string::npos; };
  std::optional<Limit> limit;
  if (names("max_virtual_size") || names("max_download_bytes")) limit = Limit::ingest_size;
  if (names("reserve_free_bytes")) limit = Limit::ingest_free_space;
  if (names("converter_timeout_seconds") || names("converter_memory")) limit = Limit::ingest_converter;
  if (limit) request.limit_events->hit(*limit, "image " + request.name, message);
}

Result<PreparedImage> prepare_image(const IngestRequest& request) {
  Ingest ingest(request);
  auto prepared = ingest.run();
  if (!prepared.ok()) count_refusal(request, prepared.error().message);
  return prepared;
}

}  // namespace scsipub::ingest
