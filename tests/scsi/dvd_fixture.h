#pragma once
// A DVD-ROM logical unit (peripheral type 05h) over an in-memory image of any
// byte size, served through storage::ImageStore the way control::make_dvd_unit
// serves a catalog ISO.
#include <algorithm>
#include <cstring>

#include "scsi_fixture.h"
#include "storage/image_source.h"
#include "storage/read_only_store.h"

namespace scsipub::scsi::testing {

class BytesImage final : public storage::ImageSource {
 public:
  explicit BytesImage(std::vector<uint8_t> bytes) : bytes_(std::move(bytes)) {}
  uint64_t size_bytes() const override { return bytes_.size(); }
  bool all_zeros() const override { return false; }
  int read_at(uint64_t offset, std::span<uint8_t> out) const override {
    std::memset(out.data(), 0, out.size());
    if (offset < bytes_.size()) {
      size_t n = std::min<size_t>(out.size(), bytes_.size() - offset);
      std::memcpy(out.data(), bytes_.data() + offset, n);
    }
    return 0;
  }

 private:
  std::vector<uint8_t> bytes_;
};

class DvdTest : public ScsiTest {
 protected:
  static constexpr uint64_t kDvdBlocks = 100;

  void SetUp() override { make_dvd(kDvdBlocks * 2048); }

  // A DVD LU at `lun` whose image is `size` bytes: byte i holds (i * 13 + i / 2048) & 0xFF.
  void make_dvd(uint64_t size, uint64_t lun = 0) {
    image.assign(size, 0);
    for (uint64_t i = 0; i < size; ++i) image[i] = uint8_t(i * 13 + i / 2048);
    use_source(std::make_shared<BytesImage>(image), lun);
  }
  // A DVD LU of `size` zero bytes with nothing in memory (large sizes).
  void make_blank_dvd(uint64_t size, uint64_t lun = 0) {
    image.clear();
    use_source(std::make_shared<storage::BlankImage>(size), lun);
  }
  void use_source(std::shared_ptr<const storage::ImageSource> source, uint64_t lun) {
    lu::Identity id;
    id.device_type = lu::DeviceType::cd_dvd;
    id.product = "DVD-ROM";
    id.serial = "DVD0001";
    id.naa_id = 0x123456789ABCull;
    unit = std::make_shared<lu::LogicalUnit>(std::make_shared<storage::ImageStore>(source), id);
    luns.add(lun, unit);
    nexus.id = 1;
    nexus.target_name = "iqn.2025-01.pub.scsipub:image.test";
  }
  // The image's bytes of DVD blocks [lba, lba+blocks), zero past its end.
  std::vector<uint8_t> expected(uint64_t lba, uint64_t blocks) const {
    std::vector<uint8_t> v(blocks * 2048, 0);
    for (uint64_t i = 0; i < v.size(); ++i) {
      uint64_t at = lba * 2048 + i;
      if (at < image.size()) v[i] = image[at];
    }
    return v;
  }
  static std::vector<uint8_t> cdb6(uint8_t op, uint8_t b1, uint8_t b2, uint8_t b3, uint8_t b4) {
    return {op, b1, b2, b3, b4, 0};
  }
  Result read_toc(uint8_t format, bool msf, uint8_t track, uint16_t alloc = 1024, uint8_t control = 0) {
    std::vector<uint8_t> c(10, 0);
    c[0] = 0x43;
    c[1] = msf ? 0x02 : 0;
    c[2] = format;
    c[6] = track;
    store_be16(&c[7], alloc);
    c[9] = control;
    return run(c);
  }
  Result get_configuration(uint8_t rt, uint16_t start, uint16_t alloc = 1024) {
    std::vector<uint8_t> c(10, 0);
    c[0] = 0x46;
    c[1] = rt;
    store_be16(&c[2], start);
    store_be16(&c[7], alloc);
    return run(c);
  }

  std::vector<uint8_t> image;
};

}  // namespace scsipub::scsi::testing
