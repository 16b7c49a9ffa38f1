#include "sessions/soak_driver.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "sessions/scsi_pdus.h"

namespace scsipub::bench {

namespace {

// Enough tries to find an idle slot among mostly idle ones, few enough that a
// busy crowd costs nothing.
constexpr int kPickTries = 8;
// A command repeated more often than this after UNIT ATTENTION is an error.
constexpr uint32_t kMaxRepeats = 3;
constexpr uint32_t kMaxMismatchReports = 10;

}  // namespace

SoakDriver::SoakDriver(SoakConfig config, size_t sessions) : config_(std::move(config)), slots_(sessions) {
  scratch_.resize(kBlockBytes);
  expected_.resize(kBlockBytes);
}

LoginIdentity SoakDriver::identity(size_t i) {
  return LoginIdentity{config_.initiator_prefix + ":s" + std::to_string(i) + "g" + std::to_string(slots_[i].generation),
                       target_of(i).iqn, uint16_t(i)};
}

Clock::duration SoakDriver::random_delay(int min_ms, int max_ms) {
  std::uniform_int_distribution<int> ms(min_ms, max_ms);
  return std::chrono::milliseconds(ms(random_));
}

void SoakDriver::on_logged_in(size_t i, const NegotiatedKeys& keys) {
  Slot& s = slots_[i];
  s.live = true;
  s.keys = keys;
  ++live_;
  if (s.reinstating) {
    s.reinstating = false;
    // The target starts its retain clock when it sees the connection close,
    // after we closed it: a login answered before dropped_at + retain must
    // have found the old disk. Later, it may or may not have: start over.
    if (Clock::now() < s.dropped_at + config_.retain) {
      ++counters_.reinstated;
    } else {
      ++counters_.reinstated_late;
      s.renew = true;
    }
  }
}

void SoakDriver::on_session_end(size_t i, SessionEnd how) {
  Slot& s = slots_[i];
  if (s.live) --live_;
  s.live = false;
  if (s.cmd.active) {
    s.cmd.active = false;
    --in_flight_;
  }
  switch (how) {
    case SessionEnd::logged_out:
      // The target deleted the disk with the session: the next one is new.
      new_generation(i, random_delay(200, 2000));
      break;
    case SessionEnd::dropped:
      if (s.abandoning) {
        // Another host takes the slot: the dropped disk is nobody's now.
        s.abandoning = false;
        new_generation(i, random_delay(500, 3000));
        break;
      }
      s.reinstating = true;
      s.dropped_at = Clock::now();
      if (!stopping_) pool_->login_later(i, random_delay(0, 300));
      break;
    case SessionEnd::lost:
      if (!stopping_) ++counters_.lost;
      new_generation(i, random_delay(200, 2000));
      break;
  }
}

void SoakDriver::new_generation(size_t i, Clock::duration delay) {
  Slot& s = slots_[i];
  ++s.generation;
  s.written.clear();
  s.renew = false;
  s.reinstating = false;
  if (!stopping_) pool_->login_later(i, delay);
}

size_t SoakDriver::pick_idle() {
  if (live_ == 0) return SIZE_MAX;
  std::uniform_int_distribution<size_t> any(0, slots_.size() - 1);
  for (int t = 0; t < kPickTries; ++t) {
    size_t i = any(random_);
    const Slot& s = slots_[i];
    if (s.live && !s.cmd.active && !s.renew && pool_->in_full_feature(i)) return i;
  }
  return SIZE_MAX;
}

void SoakDriver::tick(Clock::time_point now) {
  if (stopping_) return;
  const double dt = last_tick_ == Clock::time_point{} ? 0.0 : std::chrono::duration<double>(now - last_tick_).count();
  last_tick_ = now;
  // Credits accrue with time; a short cap keeps a slow loop from bursting.
  io_credit_ = std::min(io_credit_ + dt * config_.io_per_s, 1.0 + config_.io_per_s * 0.1);
  churn_credit_ = std::min(churn_credit_ + dt * config_.churn_per_s, 1.0 + config_.churn_per_s * 0.1);
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].renew && slots_[i].live && !slots_[i].cmd.active) {
      slots_[i].renew = false;
      pool_->logout(i);
    }
  }
  while (io_credit_ >= 1) {
    size_t i = pick_idle();
    if (i == SIZE_MAX) break;
    io_credit_ -= 1;
    start_command(i);
  }
  while (churn_credit_ >= 1) {
    size_t i = pick_idle();
    if (i == SIZE_MAX) break;
    churn_credit_ -= 1;
    churn(i);
  }
}

void SoakDriver::churn(size_t i) {
  std::bernoulli_distribution drop(config_.drop_fraction);
  std::bernoulli_distribution abandon(config_.abandon_fraction);
  if (drop(random_)) {
    slots_[i].abandoning = abandon(random_);
    ++(slots_[i].abandoning ? counters_.churn_abandons : counters_.churn_drops);
    pool_->drop(i);
  } else {
    ++counters_.churn_logouts;
    pool_->logout(i);
  }
}

void SoakDriver::start_command(size_t i) {
  Slot& s = slots_[i];
  const SoakTarget& t = target_of(i);
  std::uniform_int_distribution<uint64_t> any_block(0, t.blocks - 1);
  std::uniform_int_distribution<int> dice(0, 99);
  Command& c = s.cmd;
  c = Command{};
  c.active = true;
  const int roll = dice(random_);
  if (roll < 40) {
    // Write: a new block while the model has room, else overwrite one of ours.
    c.write = true;
    if (s.written.size() < config_.max_tracked_blocks) {
      c.block = uint32_t(any_block(random_));
    } else {
      std::uniform_int_distribution<size_t> ours(0, s.written.size() - 1);
      c.block = s.written[ours(random_)].block;
    }
    c.version = s.next_version++;
    c.data.resize(kBlockBytes);
    fill_tagged(BlockTag{uint32_t(i), s.generation, c.version}, uint64_t(c.block) * kBlockSectors, c.data);
  } else if (roll < 80 && !s.written.empty()) {
    std::uniform_int_distribution<size_t> ours(0, s.written.size() - 1);
    c.block = s.written[ours(random_)].block;
    c.data.resize(kBlockBytes);
  } else {
    // Anywhere: mostly sectors this session never wrote (its base must show).
    c.block = uint32_t(any_block(random_));
    c.data.resize(kBlockBytes);
  }
  ++in_flight_;
  if (!send_command(i)) pool_->fail(i);
}

bool SoakDriver::send_command(size_t i) {
  Slot& s = slots_[i];
  Command& c = s.cmd;
  c.itt = s.next_itt++;
  if (c.itt == iscsi::kReservedTag) c.itt = s.next_itt++;
  c.received = 0;
  BlockCommand bc;
  bc.write = c.write;
  bc.lba = c.block * kBlockSectors;
  bc.sectors = uint16_t(kBlockSectors);
  bc.sector_bytes = kSectorBytes;
  bc.itt = c.itt;
  bc.cmd_sn = pool_->take_cmd_sn(i);
  bc.exp_stat_sn = pool_->exp_stat_sn(i);
  std::vector<uint8_t> out;
  // Immediate data up to FirstBurstLength and the target's
  // MaxRecvDataSegmentLength (RFC 7143 13.11, 13.14); the rest on R2T.
  size_t immediate = 0;
  if (c.write && s.keys.immediate_data) {
    immediate = std::min<size_t>({c.data.size(), s.keys.first_burst, s.keys.target_max_recv_data_segment});
  }
  append_block_command(out, bc, std::span<const uint8_t>(c.data.data(), immediate));
  return pool_->send(i, out);
}

bool SoakDriver::on_session_pdu(size_t i, const iscsi::Bhs& bhs, std::span<const uint8_t> data) {
  Slot& s = slots_[i];
  switch (bhs.opcode()) {
    case iscsi::Opcode::scsi_response: {
      iscsi::ScsiResponseHeader r(bhs);
      pool_->set_exp_stat_sn(i, r.stat_sn() + 1);
      if (!s.cmd.active || r.itt() != s.cmd.itt) break;
      if (r.response() != 0) {
        ++counters_.io_errors;
        std::fprintf(stderr, "soak: slot %zu: iSCSI response 0x%02x\n", i, r.response());
        return finish(i, 0xff, {});
      }
      return finish(i, r.status(), data);
    }
    case iscsi::Opcode::data_in: return on_data_in(i, bhs, data);
    case iscsi::Opcode::r2t: return on_r2t(i, bhs);
    case iscsi::Opcode::reject:
      ++counters_.io_errors;
      std::fprintf(stderr, "soak: slot %zu: Reject reason 0x%02x\n", i, bhs.bytes()[2]);
      return false;
    default: break;
  }
  return true;
}

bool SoakDriver::on_r2t(size_t i, const iscsi::Bhs& bhs) {
  Slot& s = slots_[i];
  iscsi::R2tHeader r(bhs);
  Command& c = s.cmd;
  const uint64_t end = uint64_t(r.buffer_offset()) + r.desired_data_transfer_length();
  if (!c.active || !c.write || r.itt() != c.itt || end > c.data.size() || r.desired_data_transfer_length() == 0) {
    ++counters_.io_errors;
    std::fprintf(stderr, "soak: slot %zu: unexpected R2T (offset %u length %u)\n", i, r.buffer_offset(),
                 r.desired_data_transfer_length());
    return false;
  }
  std::vector<uint8_t> out;
  append_data_out(out, c.itt, r.ttt(), pool_->exp_stat_sn(i), r.buffer_offset(),
                  std::span<const uint8_t>(c.data).subspan(r.buffer_offset(), r.desired_data_transfer_length()),
                  s.keys.target_max_recv_data_segment);
  return pool_->send(i, out);
}

bool SoakDriver::on_data_in(size_t i, const iscsi::Bhs& bhs, std::span<const uint8_t> data) {
  Slot& s = slots_[i];
  iscsi::DataInHeader d(bhs);
  Command& c = s.cmd;
  const uint64_t end = uint64_t(d.buffer_offset()) + data.size();
  if (!c.active || c.write || d.itt() != c.itt || end > c.data.size()) {
    ++counters_.io_errors;
    std::fprintf(stderr, "soak: slot %zu: unexpected Data-In (offset %u length %zu)\n", i, d.buffer_offset(),
                 data.size());
    return false;
  }
  std::memcpy(c.data.data() + d.buffer_offset(), data.data(), data.size());
  c.received += uint32_t(data.size());
  if (!d.status_present()) return true;
  pool_->set_exp_stat_sn(i, d.stat_sn() + 1);
  return finish(i, d.status(), {});
}

bool SoakDriver::finish(size_t i, uint8_t status, std::span<const uint8_t> response_data) {
  Slot& s = slots_[i];
  Command& c = s.cmd;
  if (status == kStatusCheckCondition && sense_key(response_data) == kSenseUnitAttention && c.repeats < kMaxRepeats) {
    // The first command of a new I_T nexus may be told about the power-on or
    // reset (SAM-5 5.14): repeat it.
    ++counters_.unit_attentions;
    ++c.repeats;
    return send_command(i);
  }
  c.active = false;
  --in_flight_;
  if (status != kStatusGood) {
    if (status != 0xff) {
      ++counters_.io_errors;
      std::fprintf(stderr, "soak: slot %zu: %s of block %u ended with status 0x%02x\n", i, c.write ? "write" : "read",
                   c.block, status);
    }
    // What a failed write left there is unknown: forget the block.
    std::erase_if(s.written, [&](const Written& w) { return w.block == c.block; });
    return true;
  }
  if (c.write) {
    ++counters_.writes;
    auto w = std::find_if(s.written.begin(), s.written.end(), [&](const Written& x) { return x.block == c.block; });
    if (w != s.written.end()) w->version = c.version;
    else s.written.push_back({c.block, c.version});
  } else {
    verify(i);
  }
  return true;
}

void SoakDriver::verify(size_t i) {
  Slot& s = slots_[i];
  Command& c = s.cmd;
  ++counters_.reads;
  const uint64_t lba = uint64_t(c.block) * kBlockSectors;
  auto w = std::find_if(s.written.begin(), s.written.end(), [&](const Written& x) { return x.block == c.block; });
  if (w != s.written.end()) fill_tagged(BlockTag{uint32_t(i), s.generation, w->version}, lba, expected_);
  else fill_base(target_of(i).base, lba, expected_);
  if (c.received == kBlockBytes && std::memcmp(expected_.data(), c.data.data(), kBlockBytes) == 0) return;
  ++counters_.verify_errors;
  if (mismatches_reported_++ < kMaxMismatchReports) {
    size_t at = 0;
    while (at < kBlockBytes && expected_[at] == c.data[at]) ++at;
    std::fprintf(stderr,
                 "soak: MISMATCH slot %zu generation %u %s block %u (LBA %llu): %u bytes received, first difference "
                 "at byte %zu\n",
                 i, s.generation, w != s.written.end() ? "written" : "base", c.block,
                 static_cast<unsigned long long>(lba), c.received, at);
  }
}

}  // namespace scsipub::bench
