#include "storage/bitmap_file.h"

#include <fcntl.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <system_error>
#include <vector>

namespace scsipub::storage {
namespace {

constexpr std::array<uint8_t, 8> kMagic = {'S', 'P', 'B', 'I', 'T', 'M', 'P', '1'};

// The format is little-endian whatever the host is.
uint64_t to_le(uint64_t v) {
  if constexpr (std::endian::native == std::endian::big) return __builtin_bswap64(v);
  return v;
}
uint64_t from_le(uint64_t v) { return to_le(v); }

void put_le64(uint8_t* p, uint64_t v) {
  v = to_le(v);
  std::memcpy(p, &v, 8);
}
uint64_t get_le64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return from_le(v);
}

std::array<uint8_t, BitmapFile::kHeaderBytes> encode_header(const BitmapHeader& h) {
  std::array<uint8_t, BitmapFile::kHeaderBytes> out{};
  std::memcpy(out.data(), kMagic.data(), kMagic.size());
  put_le64(out.data() + 8, h.sectors);
  put_le64(out.data() + 16, h.bytes_written);
  put_le64(out.data() + 24, h.exhausted ? 1 : 0);
  return out;
}

uint64_t file_bytes(uint64_t sectors) {
  return BitmapFile::kHeaderBytes + 2 * SectorBitmap::words_for(sectors) * 8;
}

// A chunk of the file is a page of the map, so loading and storing go page by page.
static_assert(BitmapFile::kChunkWords == SectorBitmap::kPageWords);

uint64_t chunk_count(uint64_t sectors) { return SectorBitmap(sectors).page_count(); }

Unexpected<Error> io_fail(const char* what, const std::filesystem::path& path, int err) {
  return fail(std::string(what) + " " + path.string() + ": " + std::system_category().message(err));
}

}  // namespace

BitmapFile::BitmapFile(std::unique_ptr<FileIo> file, uint64_t sectors, const BitmapHeader& stored)
    : file_(std::move(file)), dirty_chunks_(chunk_count(sectors)), stored_(stored) {}

Result<BitmapFile> BitmapFile::create(const std::filesystem::path& path, const BitmapHeader& header,
                                      const FileOpener& opener) {
  const int flags = O_RDWR | O_CREAT | O_TRUNC;
  auto file = opener ? opener(path, flags, 0600) : open_sync_file(path, flags, 0600);
  if (!file) return Unexpected<Error>{file.error()};
  auto head = encode_header(header);
  if (int err = (*file)->truncate(file_bytes(header.sectors)); err != 0) {
    return io_fail("truncate", path, err);
  }
  if (int err = (*file)->write_at(0, head); err != 0) return io_fail("write", path, err);
  if (int err = (*file)->sync_data(); err != 0) return io_fail("fdatasync", path, err);
  return BitmapFile(std::move(*file), header.sectors, header);
}

Result<BitmapFile> BitmapFile::open(const std::filesystem::path& path, uint64_t sectors,
                                    const FileOpener& opener, OverlayMaps& maps,
                                    BitmapHeader& header) {
  auto file = opener ? opener(path, O_RDWR, 0) : open_sync_file(path, O_RDWR, 0);
  if (!file) return Unexpected<Error>{file.error()};
  uint64_t size = 0;
  if (int err = (*file)->size(size); err != 0) return io_fail("stat", path, err);
  if (size != file_bytes(sectors)) {
    return fail("bitmap " + path.string() + " has " + std::to_string(size) + " bytes, expected " +
                std::to_string(file_bytes(sectors)));
  }
  std::array<uint8_t, kHeaderBytes> head{};
  if (int err = (*file)->read_at(0, head); err != 0) return io_fail("read", path, err);
  if (!std::equal(kMagic.begin(), kMagic.end(), head.begin())) {
    return fail("bitmap " + path.string() + ": bad magic or unknown version");
  }
  header.sectors = get_le64(head.data() + 8);
  header.bytes_written = get_le64(head.data() + 16);
  header.exhausted = (get_le64(head.data() + 24) & 1) != 0;
  if (header.sectors != sectors) {
    return fail("bitmap " + path.string() + " covers " + std::to_string(header.sectors) +
                " sectors, overlay has " + std::to_string(sectors));
  }

  // Page by page (a page is one chunk of the file), read a batch of pages at
  // a time: all-zero chunks, the sparse holes of a mostly unwritten map,
  // allocate nothing.
  constexpr uint64_t kBatchPages = 64;
  const uint64_t nwords = SectorBitmap::words_for(sectors);
  std::vector<uint8_t> raw;
  std::vector<uint64_t> words;
  uint64_t map_offset = kHeaderBytes;
  for (SectorBitmap* map : {&maps.data, &maps.zeroed}) {
    *map = SectorBitmap(sectors);
    const uint64_t pages = map->page_count();
    for (uint64_t p0 = 0; p0 < pages; p0 += kBatchPages) {
      const uint64_t w0 = p0 * kChunkWords;
      const uint64_t w1 = std::min(nwords, (p0 + kBatchPages) * kChunkWords);
      raw.resize((w1 - w0) * 8);
      if (int err = (*file)->read_at(map_offset + w0 * 8, raw); err != 0) return io_fail("read", path, err);
      for (uint64_t p = p0; p < std::min(pages, p0 + kBatchPages); ++p) {
        const uint8_t* in = raw.data() + (p - p0) * kChunkWords * 8;
        words.resize(map->page_words(p));
        for (uint64_t i = 0; i < words.size(); ++i) words[i] = get_le64(in + i * 8);
        map->assign_page(p, words);
      }
    }
    map_offset += nwords * 8;
  }
  // A sector is never both in the overlay and zeroed; the data map wins
  // because its bits are the ones that point at written data.
  maps.zeroed.clear_bits_set_in(maps.data);
  return BitmapFile(std::move(*file), sectors, header);
}

void BitmapFile::mark_dirty(uint64_t first, uint64_t count) {
  if (count == 0) return;
  const uint64_t bits_per_chunk = kChunkWords * 64;
  uint64_t c0 = first / bits_per_chunk;
  uint64_t c1 = (first + count - 1) / bits_per_chunk;
  dirty_chunks_.set_range(c0, c1 - c0 + 1);
}

int BitmapFile::store(const OverlayMaps& maps, const BitmapHeader& header) {
  const bool header_changed = header != stored_;
  if (!header_changed && dirty_chunks_.count_set() == 0) return 0;

  const uint64_t nwords = SectorBitmap::words_for(maps.data.size());
  std::vector<uint8_t> raw;
  uint64_t chunk = 0;
  const uint64_t chunks = dirty_chunks_.size();
  while (chunk < chunks) {
    uint64_t run = dirty_chunks_.run_length(chunk, chunks - chunk);
    if (dirty_chunks_.test(chunk)) {
      // One write per run of dirty chunks and map; an absent page is zeros.
      uint64_t w0 = chunk * kChunkWords;
      uint64_t w1 = std::min<uint64_t>(nwords, (chunk + run) * kChunkWords);
      raw.resize((w1 - w0) * 8);
      uint64_t map_offset = kHeaderBytes;
      for (const SectorBitmap* map : {&maps.data, &maps.zeroed}) {
        for (uint64_t p = chunk; p < chunk + run; ++p) {
          const uint64_t* words = map->page(p);
          uint8_t* out = raw.data() + (p - chunk) * kChunkWords * 8;
          const uint64_t n = map->page_words(p);
          if (words == nullptr) {
            std::memset(out, 0, n * 8);
          } else {
            for (uint64_t w = 0; w < n; ++w) put_le64(out + w * 8, words[w]);
          }
        }
        if (int err = file_->write_at(map_offset + w0 * 8, raw); err != 0) return err;
        map_offset += nwords * 8;
      }
    }
    chunk += run;
  }
  if (header_changed) {
    auto head = encode_header(header);
    if (int err = file_->write_at(0, head); err != 0) return err;
  }
  if (int err = file_->sync_data(); err != 0) return err;
  // Only now is the file known to hold this state; on failure everything stays
  // dirty and the next store retries it.
  dirty_chunks_.clear_range(0, chunks);
  stored_ = header;
  return 0;
}

}  // namespace scsipub::storage
