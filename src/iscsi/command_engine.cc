#include "iscsi/command_engine.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "iscsi/command_task.h"
#include "lu/logical_unit.h"
#include "scsi/lun_address.h"

namespace scsipub::iscsi {
namespace {

constexpr uint8_t kCommandCompletedAtTarget = 0x00;  // SCSI Response, RFC 7143 11.4.3

}  // namespace

CommandEngine::CommandEngine(Outbox& out, SequenceState& seq, EngineLimits limits)
    : out_(out), seq_(seq), limits_(limits) {}

CommandEngine::~CommandEngine() = default;

void CommandEngine::start(const SessionParams& params, const scsi::LunMap* luns, const lu::Nexus* nexus) {
  params_ = params;
  luns_ = luns;
  nexus_ = nexus;
}

std::unique_ptr<Buffer> CommandEngine::acquire_buffer() {
  if (pool_.empty()) return std::make_unique<Buffer>();
  auto b = std::move(pool_.back());
  pool_.pop_back();
  return b;
}

void CommandEngine::recycle(std::unique_ptr<Buffer> b) {
  if (!b || pool_.size() >= limits_.max_pool_buffers) return;
  b->shrink_to(limits_.keep_buffer_bytes);
  b->clear();
  pool_.push_back(std::move(b));
}

void CommandEngine::release_sent() {
  // A completion that arrived while the transport was writing queued Data-In
  // PDUs the write did not carry: their buffers stay until the outbox drains.
  if (!out_.empty()) return;
  for (auto& b : in_flight_) recycle(std::move(b));
  in_flight_.clear();
  unsent_read_bytes_ = 0;
  if (!ready_.empty()) pump_execution();
}

void CommandEngine::trim_idle() {
  if (!tasks_.empty() || !in_flight_.empty()) return;
  std::vector<std::unique_ptr<Buffer>>().swap(pool_);
  std::vector<std::unique_ptr<Buffer>>().swap(in_flight_);
  decltype(tasks_)().swap(tasks_);
}

void CommandEngine::protocol_error() { fault_ = EngineFault::protocol_error; }

// RFC 7143 11.3: a new SCSI Command, its CmdSN already in order.
void CommandEngine::on_command(const PduView& pdu) {
  const ScsiCommandHeader bhs(pdu.bhs);
  uint32_t itt = bhs.itt();
  if (tasks_.contains(itt)) {
    protocol_error();  // RFC 7143 11.3.4: ITTs are unique among outstanding tasks
    return;
  }
  auto task = std::make_unique<Task>();
  Task& t = *task;
  t.itt = itt;
  t.lun_raw = bhs.lun_raw();
  t.edtl = bhs.expected_data_transfer_length();
  t.read = bhs.read();
  t.write = bhs.write();
  std::copy(bhs.cdb().begin(), bhs.cdb().end(), t.cdb.begin());
  t.cdb_len = ScsiCommandHeader::kCdbBytes;
  // RFC 7143 11.2.2.3 extended CDB AHS: type 1, length, reserved, CDB bytes.
  for (size_t pos = 0; pos + 4 <= pdu.ahs.size();) {
    uint16_t ahs_len = load_be16(&pdu.ahs[pos]);
    uint8_t type = pdu.ahs[pos + 2];
    size_t total = 4 + ((size_t(ahs_len) + 3) & ~size_t{3});
    if (pos + total > pdu.ahs.size() || ahs_len == 0) break;
    if (type == 1 && ahs_len > 1 && t.cdb_len + (ahs_len - 1u) <= kMaxCdb) {
      std::memcpy(&t.cdb[ScsiCommandHeader::kCdbBytes], &pdu.ahs[pos + 4], ahs_len - 1u);
      t.cdb_len = static_cast<uint16_t>(ScsiCommandHeader::kCdbBytes + ahs_len - 1u);
    }
    pos += total;
  }

  uint32_t immediate = static_cast<uint32_t>(pdu.data.size());
  if (!t.write) {
    if (immediate != 0) {
      protocol_error();  // data with no write: nothing to put it in
      return;
    }
    if (luns_ != nullptr && nexus_ != nullptr) {
      t.unit = luns_->find(scsi::decode_lun(t.lun_raw));
      if (t.unit != nullptr) t.abort_generation = t.unit->task_abort_generation(nexus_->id);
    }
    tasks_.emplace(itt, std::move(task));
    seq_.window_used = static_cast<uint32_t>(tasks_.size());
    queue_execution(t);
    return;
  }

  // RFC 7143 13.11 / 13.14: immediate data only if negotiated, never beyond
  // FirstBurstLength or EDTL.
  uint32_t first_burst = std::min(params_.first_burst_length, t.edtl);
  if (immediate > first_burst || (immediate != 0 && !params_.immediate_data)) {
    protocol_error();
    return;
  }
  bool unsolicited_follows = !bhs.final_bit();
  if (unsolicited_follows && params_.initial_r2t) {
    protocol_error();  // RFC 7143 13.10: InitialR2T=Yes forbids unsolicited Data-Out
    return;
  }
  t.unsolicited_end = unsolicited_follows ? first_burst : immediate;
  t.unsolicited_next = immediate;
  t.next_r2t_offset = t.unsolicited_end;
  if (bhs.read()) {
    t.discard = true;  // no bidirectional support
    t.discard_reason = scsi::SenseReason::invalid_field_in_cdb;
  } else if (t.edtl > limits_.max_task_bytes) {
    t.discard = true;  // larger than VPD B0 lets anyone ask for
    t.discard_reason = scsi::SenseReason::invalid_field_in_cdb;
  }

  if (luns_ != nullptr && nexus_ != nullptr) {
    t.unit = luns_->find(scsi::decode_lun(t.lun_raw));
    if (t.unit != nullptr) t.abort_generation = t.unit->task_abort_generation(nexus_->id);
  }
  t.data = acquire_buffer();
  if (!t.discard) {
    // Memory follows the bytes that arrive, never what EDTL promises: a task
    // without budget holds only its unsolicited data, charged as it comes.
    if (take_budget(t)) {
      t.data->prepare(t.edtl);
    } else {
      t.data->prepare(immediate);
      charge(t, immediate);
    }
    if (immediate != 0) std::memcpy(t.data->data(), pdu.data.data(), immediate);
  }
  t.received = immediate;
  tasks_.emplace(itt, std::move(task));
  seq_.window_used = static_cast<uint32_t>(tasks_.size());
  Task& placed = *tasks_.at(itt);
  if (placed.discard) {
    // Nothing solicited for a command we refuse; answer once unsolicited data is in.
    placed.next_r2t_offset = placed.edtl;
  }
  if (placed.unsolicited_next >= placed.unsolicited_end) pump_r2t(placed);
  complete_if_ready(itt);
}

bool CommandEngine::admits_immediate(size_t data_bytes) const {
  size_t max_tasks = limits_.max_tasks != 0 ? limits_.max_tasks : seq_.window;
  return tasks_.size() < max_tasks && buffered_bytes_ + data_bytes <= limits_.max_buffered_bytes;
}

void CommandEngine::charge(Task& t, uint64_t bytes) {
  t.charged += bytes;
  buffered_bytes_ += bytes;
  peak_buffered_bytes_ = std::max(peak_buffered_bytes_, buffered_bytes_);
}

bool CommandEngine::take_budget(Task& t) {
  if (t.budget_held) return true;
  uint64_t more = t.edtl > t.charged ? t.edtl - t.charged : 0;
  if (buffered_bytes_ + more > limits_.max_buffered_bytes && buffered_bytes_ != t.charged) return false;
  charge(t, more);
  t.budget_held = true;
  return true;
}

// RFC 7143 11.8: solicit the rest of the write, at most MaxOutstandingR2T
// R2Ts at a time, each at most MaxBurstLength.
void CommandEngine::pump_r2t(Task& t) {
  if (t.discard || t.next_r2t_offset >= t.edtl) return;
  if (!t.budget_held) {
    if (!take_budget(t)) {
      if (!t.in_backlog) {
        r2t_backlog_.push_back(t.itt);
        t.in_backlog = true;
      }
      return;
    }
    t.data->reserve(t.edtl);  // Data-Outs grow it as they land
  }
  while (t.next_r2t_offset < t.edtl && t.r2ts.size() < params_.max_outstanding_r2t) {
    uint32_t len = std::min(params_.max_burst_length, t.edtl - t.next_r2t_offset);
    R2tState r{next_ttt_++, t.next_r2t_offset, len, 0, 0};
    if (next_ttt_ == kReservedTag) next_ttt_ = 1;
    R2tHeader b;
    b.set_lun_raw(t.lun_raw);
    b.set_itt(t.itt);
    b.set_ttt(r.ttt);
    seq_.stamp(b, /*advance=*/false);  // RFC 7143 11.8.3: StatSN not advanced
    b.set_r2t_sn(t.r2t_sn++);
    b.set_buffer_offset(r.offset);
    b.set_desired_data_transfer_length(r.length);
    out_.push(b);
    t.r2ts.push_back(r);
    t.next_r2t_offset += len;
  }
}

void CommandEngine::pump_backlog() {
  while (!r2t_backlog_.empty()) {
    uint32_t itt = r2t_backlog_.front();
    auto it = tasks_.find(itt);
    if (it == tasks_.end()) {
      r2t_backlog_.pop_front();
      continue;
    }
    Task& t = *it->second;
    if (drop_if_aborted(t)) continue;  // no R2T for a task another nexus aborted
    if (!take_budget(t)) return;
    r2t_backlog_.pop_front();
    t.in_backlog = false;
    pump_r2t(t);
  }
}

// RFC 7143 11.7: Data-Out, unsolicited (TTT 0xffffffff) or for an R2T.
void CommandEngine::on_data_out(const PduView& pdu) {
  const DataOutHeader bhs(pdu.bhs);
  auto it = tasks_.find(bhs.itt());
  if (it == tasks_.end()) return;  // aborted or unknown task: RFC 7143 11.5.1 says discard
  Task& t = *it->second;
  if (drop_if_aborted(t)) {
    pump_backlog();
    return;  // its data goes nowhere, as for any aborted task
  }
  uint32_t ttt = bhs.ttt();
  uint32_t offset = bhs.buffer_offset();
  uint32_t data_sn = bhs.data_sn();
  auto len = static_cast<uint32_t>(pdu.data.size());

  // RFC 7143 11.7.5: DataSN counts Data-Out PDUs from 0 within each sequence
  // (the unsolicited burst, or one R2T). At ERL 0 a lost PDU cannot be
  // recovered, but the offsets still frame the stream: the command fails with
  // DATA PHASE ERROR and the session lives on. Offsets or lengths outside the
  // burst are a protocol error.
  bool sn_ok = true;
  if (ttt == kReservedTag) {
    uint32_t room = t.unsolicited_end - t.unsolicited_next;
    if (offset != t.unsolicited_next || len > room) {
      protocol_error();
      return;
    }
    sn_ok = data_sn == t.unsolicited_data_sn;
    t.unsolicited_next += len;
    ++t.unsolicited_data_sn;
    // RFC 7143 11.7.1: F ends the unsolicited sequence; whatever it did not
    // carry is solicited with R2Ts rather than waited for.
    if (bhs.final_bit() && t.unsolicited_next < t.unsolicited_end) {
      t.unsolicited_end = t.unsolicited_next;
      if (!t.discard) t.next_r2t_offset = t.unsolicited_next;
    }
  } else {
    auto r = std::find_if(t.r2ts.begin(), t.r2ts.end(), [&](const R2tState& s) { return s.ttt == ttt; });
    if (r == t.r2ts.end() || offset != r->offset + r->received || len > r->length - r->received) {
      protocol_error();
      return;
    }
    sn_ok = data_sn == r->next_data_sn;
    r->received += len;
    ++r->next_data_sn;
    if (r->received == r->length) t.r2ts.erase(r);
  }
  if (!sn_ok && !t.discard) {
    t.discard = true;
    t.discard_reason = scsi::SenseReason::data_phase_error;
  }
  if (!t.discard && len != 0) {
    if (uint64_t(offset) + len > t.data->size()) t.data->resize(offset + len);
    std::memcpy(t.data->data() + offset, pdu.data.data(), len);
    if (!t.budget_held) charge(t, len);
  }
  t.received += len;
  if (t.unsolicited_next >= t.unsolicited_end) pump_r2t(t);
  complete_if_ready(t.itt);
}

void CommandEngine::complete_if_ready(uint32_t itt) {
  auto it = tasks_.find(itt);
  if (it == tasks_.end()) return;
  Task& t = *it->second;
  if (drop_if_aborted(t)) {
    pump_backlog();
    return;
  }
  if (t.stage != Task::Stage::receiving) return;
  // A refused command answers once the unsolicited data it cannot stop has
  // arrived; nothing more is solicited (RFC 7143 allows early status).
  bool ready = t.discard ? t.unsolicited_next >= t.unsolicited_end : t.received >= t.edtl;
  if (!ready) return;
  if (!t.discard) {
    queue_execution(t);  // answered when the executor reports back
    return;
  }
  // RFC 7143 4.2.2.1: the status PDU's MaxCmdSN already counts this task's
  // slot as free; otherwise a closed window (MaxCmdSN = ExpCmdSN - 1) stays
  // closed after the last outstanding command completes, until a NOP-In.
  seq_.window_used = static_cast<uint32_t>(tasks_.size() - 1);
  scsi::ScsiTask st;
  st.lun = scsi::decode_lun(t.lun_raw);
  commands_.fail(st, *luns_, t.discard_reason);  // in the LU's sense format (D_SENSE)
  send_response(t, st, 0);
  erase_task(itt);
  pump_backlog();
}

void CommandEngine::queue_execution(Task& t) {
  t.stage = Task::Stage::queued;
  ready_.push_back(t.itt);
  if (!hold_until_start_) pump_execution();
}


// Back on the connection's thread: Data-In straight from the read buffer
// (kept alive in in_flight_ until written), then status.
void CommandEngine::finish(Task& t) {
  const scsi::ScsiTask& st = t.st;
  std::unique_ptr<Buffer> din = std::move(t.din);
  auto produced = static_cast<uint32_t>(std::min<size_t>(din->size(), UINT32_MAX));
  uint32_t sendable = t.read ? std::min(produced, t.edtl) : 0;
  bool status_in_data = st.status == scsi::status::kGood && st.sense_length == 0;
  if (counters_ != nullptr) {
    if (t.write) counters_->add_write(st.data_out.size());
    if (t.read) counters_->add_read(sendable);
  }
  uint32_t pdus = 0;
  if (sendable != 0) pdus = send_data_in(t, st, sendable, status_in_data);
  if (sendable == 0 || !status_in_data) send_response(t, st, pdus);
  if (sendable != 0) {
    unsent_read_bytes_ += sendable;
    in_flight_.push_back(std::move(din));
  } else {
    recycle(std::move(din));
  }
}

// An aborted task whose execution has come back: nothing refers to it now.
void CommandEngine::release_orphan(Task& t) {
  auto o = std::find_if(orphans_.begin(), orphans_.end(), [&t](const auto& p) { return p.get() == &t; });
  std::unique_ptr<Task> owned = std::move(*o);
  orphans_.erase(o);
  release_task(std::move(owned));
}

void CommandEngine::release_task(std::unique_ptr<Task> t) {
  buffered_bytes_ -= t->charged;
  recycle(std::move(t->data));
  recycle(std::move(t->din));
}

namespace {
struct Residual {
  bool overflow = false;
  bool underflow = false;
  uint32_t count = 0;
};

// RFC 7143 11.4.5: residuals compare EDTL with what the command wanted to move.
Residual residual_of(uint32_t edtl, bool write, const scsi::ScsiTask& st) {
  // The SCSI layer reports SPDTL for writes (parameter-list length for MODE
  // SELECT/UNMAP) and the data it produced for reads.
  uint64_t wanted = write ? st.write_transfer_length : (st.data_in ? st.data_in->size() : 0);
  if (wanted > edtl) return {true, false, static_cast<uint32_t>(std::min<uint64_t>(wanted - edtl, UINT32_MAX))};
  if (wanted < edtl) return {false, true, static_cast<uint32_t>(edtl - wanted)};
  return {};
}
}  // namespace

uint32_t CommandEngine::send_data_in(const Task& t, const scsi::ScsiTask& st, uint32_t length, bool with_status) {
  const uint8_t* base = st.data_in->data();
  uint32_t max_pdu = std::max<uint32_t>(params_.initiator_max_recv_dsl, 512);
  uint32_t max_burst = std::max<uint32_t>(params_.max_burst_length, 512);
  uint32_t offset = 0;
  uint32_t data_sn = 0;
  uint32_t burst_left = max_burst;
  Residual res = residual_of(t.edtl, false, st);
  while (offset < length) {
    uint32_t n = std::min({length - offset, max_pdu, burst_left});
    bool last = offset + n == length;
    burst_left -= n;
    DataInHeader b;
    // RFC 7143 11.7.1: F ends each Data-In sequence (MaxBurstLength).
    b.set_final(last || burst_left == 0);
    if (last && with_status) {
      b.set_status_present(true);
      b.set_overflow(res.overflow);
      b.set_underflow(res.underflow);
      b.set_status(st.status);
      seq_.stamp(b);
      b.set_residual_count(res.count);
    } else {
      seq_.stamp_no_status(b);
    }
    b.set_lun_raw(t.lun_raw);
    b.set_itt(t.itt);
    b.set_ttt(kReservedTag);
    b.set_data_sn(data_sn++);
    b.set_buffer_offset(offset);
    out_.push(b, std::span<const uint8_t>(base + offset, n));
    offset += n;
    if (burst_left == 0) burst_left = max_burst;
  }
  return data_sn;
}

void CommandEngine::send_response(const Task& t, const scsi::ScsiTask& st, uint32_t exp_data_sn) {
  Residual res = residual_of(t.edtl, t.write, st);
  ScsiResponseHeader b;
  b.set_overflow(res.overflow);
  b.set_underflow(res.underflow);
  b.set_response(kCommandCompletedAtTarget);
  b.set_status(st.status);
  b.set_itt(t.itt);
  seq_.stamp(b);
  // RFC 7143 11.4.8: Data-In PDUs sent for reads, R2Ts for writes.
  b.set_exp_data_sn(t.write ? t.r2t_sn : exp_data_sn);
  b.set_residual_count(res.count);
  if (st.sense_length == 0) {
    out_.push(b);
    return;
  }
  // RFC 7143 11.4.7.2: SenseLength, then the sense data.
  std::vector<uint8_t> data(2 + st.sense_length);
  store_be16(data.data(), st.sense_length);
  std::memcpy(data.data() + 2, st.sense.data(), st.sense_length);
  out_.push_owned(b, std::move(data));
}

// SPC-4 5.9.11.5 / SAM-5 5.6: a task another nexus aborted (PREEMPT AND
// ABORT) ends here, before it writes anything. With TAS=0 in our Control mode
// page no status goes out; the initiator's REGISTRATIONS PREEMPTED unit
// attention and its own task timeout (ABORT TASK then finds no task) tell it.
// The check runs when a write task's data arrives, before it executes and
// before an R2T is sent for it; a task already executing completes.
bool CommandEngine::drop_if_aborted(Task& t) {
  if (t.unit == nullptr || t.unit->task_abort_generation(nexus_->id) == t.abort_generation) return false;
  erase_task(t.itt);
  return true;
}

// A running task is not freed here: the executor still uses it. It leaves
// the table (its ITT may be reused at once) and waits in orphans_, and no
// status goes out for it (SAM-5 5.6, TAS=0).
void CommandEngine::erase_task(uint32_t itt) {
  auto it = tasks_.find(itt);
  if (it == tasks_.end()) return;
  std::unique_ptr<Task> t = std::move(it->second);
  tasks_.erase(it);
  seq_.window_used = static_cast<uint32_t>(tasks_.size());
  if (t->stage == Task::Stage::running) {
    t->aborted.store(true, std::memory_order_relaxed);
    orphans_.push_back(std::move(t));
    return;
  }
  // Its ITT may come back at once with a new command, which must not take
  // this one's place in the queue.
  if (t->stage == Task::Stage::queued) std::erase(ready_, itt);
  release_task(std::move(t));
}

bool CommandEngine::abort_task(uint32_t itt) {
  if (!tasks_.contains(itt)) return false;
  erase_task(itt);
  pump_backlog();
  return true;
}

size_t CommandEngine::abort_all(std::optional<uint64_t> lun) {
  std::vector<uint32_t> victims;
  for (const auto& [itt, t] : tasks_) {
    if (!lun || scsi::decode_lun(t->lun_raw) == *lun) victims.push_back(itt);
  }
  for (uint32_t itt : victims) erase_task(itt);
  pump_backlog();
  return victims.size();
}

}  // namespace scsipub::iscsi
