#pragma once
// In-memory harness for iscsi::Connection + CommandEngine: a fake target
// provider over a real LogicalUnit/MemoryStore, an initiator that builds raw
// PDUs, frames them through check_frame/parse_frame into Connection::on_pdu,
// and decodes whatever the connection leaves in its outbox (header + data +
// trailer concatenated and parsed back, which checks padding and digests).
// No sockets, no threads, no real clock: time is a time_point we move.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "iscsi/connection.h"
#include "iscsi/pdu.h"
#include "iscsi/session_registry.h"
#include "iscsi/target_provider.h"
#include "lu/logical_unit.h"
#include "scsi/lun_address.h"
#include "scsi/lun_map.h"
#include "storage/memory_store.h"

namespace scsipub::iscsi::testing {

using Keys = std::vector<std::pair<std::string, std::string>>;
using Clock = Connection::Clock;
using scsi::encode_lun;  // SAM-5 4.7 LUN field of the PDUs the tests build
using namespace std::chrono_literals;

inline constexpr char kTarget[] = "iqn.2025-01.test:disk";
inline constexpr char kInitiatorName[] = "iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-test";
inline constexpr uint64_t kBlocks = 4096;
inline constexpr uint32_t kBlockSize = 512;
inline constexpr std::array<uint8_t, 6> kIsid{0x80, 0x12, 0x34, 0x56, 0x00, 0x01};

// `inner` as if it lived on a disk: every command may wait, so a transport's
// executor runs it (deferred_execution_test), except reads while `cached`
// says their data is in the page cache.
class DeviceStore final : public storage::BlockStore {
 public:
  explicit DeviceStore(std::shared_ptr<storage::BlockStore> inner) : inner_(std::move(inner)) {}
  uint64_t block_count() const override { return inner_->block_count(); }
  bool read_only() const override { return inner_->read_only(); }
  bool thin_provisioned() const override { return inner_->thin_provisioned(); }
  storage::IoStatus read(uint64_t lba, std::span<uint8_t> out) override { return inner_->read(lba, out); }
  storage::IoStatus write(uint64_t lba, std::span<const uint8_t> in) override { return inner_->write(lba, in); }
  storage::IoStatus unmap(uint64_t lba, uint64_t blocks) override { return inner_->unmap(lba, blocks); }
  storage::IoStatus flush() override { return inner_->flush(); }
  storage::LbaRun lba_status(uint64_t lba) const override { return inner_->lba_status(lba); }
  bool read_now(uint64_t lba, std::span<uint8_t> out) override {
    ++read_now_calls;
    return cached && inner_->read(lba, out) == storage::IoStatus::ok;
  }
  bool cached = false;
  int read_now_calls = 0;

 private:
  std::shared_ptr<storage::BlockStore> inner_;
};

// One target, one LUN 0 over a MemoryStore shared by every binding (like a
// provisioned disk), so tests can read back what an earlier session wrote.
class FakeTargets final : public TargetProvider {
 public:
  FakeTargets();
  std::optional<LoginTarget> find(std::string_view target_name, const LoginRequester& who, const PortalInfo& portal) override;
  std::vector<SendTargetsEntry> send_targets(std::string_view which, std::string_view session_target,
                                             std::string_view auth_user, const PortalInfo& portal) override;
  Result<std::unique_ptr<TargetBinding>, BindError> bind(std::string_view target_name, const lu::Nexus& nexus,
                                                         const PortalInfo& portal) override;

  // Replaces the LU by one straight over `store`, like a free-tier disk in
  // memory: no lock, its reads and writes never wait. Before any login.
  void serve_from_memory();
  // Replaces the LU by one over `other` (wrapping `store` as it likes).
  void serve_from(std::shared_ptr<storage::BlockStore> other);

  std::shared_ptr<storage::MemoryStore> store;
  std::shared_ptr<DeviceStore> device;  // the LU's store, over `store`
  std::shared_ptr<lu::LogicalUnit> unit;
  int binds = 0;
  int unbinds = 0;
  std::vector<SessionEnd> ends;  // what each binding was told as its session ended
  int live_bindings() const { return binds - unbinds; }
};

// A target PDU, decoded.
struct Pdu {
  Bhs bhs;
  std::vector<uint8_t> data;

  Opcode op() const { return bhs.opcode(); }
  uint32_t itt() const { return bhs.itt(); }
  uint32_t dsl() const { return bhs.data_segment_length(); }
  // Every target PDU carries these (RFC 7143 11.4.1 and its siblings).
  uint32_t stat_sn() const { return TargetHeader(bhs).stat_sn(); }
  uint32_t exp_cmd_sn() const { return TargetHeader(bhs).exp_cmd_sn(); }
  uint32_t max_cmd_sn() const { return TargetHeader(bhs).max_cmd_sn(); }
  // The Target Transfer Tag of an R2T, NOP-In, Data-In or Text Response.
  uint32_t ttt() const;
  // The Buffer Offset of an R2T or Data-In.
  uint32_t buffer_offset() const;

  // The header as the kind of PDU it must be; a test failure when it is not.
  ScsiResponseHeader response() const { return as<ScsiResponseHeader>(Opcode::scsi_response); }
  DataInHeader data_in() const { return as<DataInHeader>(Opcode::data_in); }
  R2tHeader r2t() const { return as<R2tHeader>(Opcode::r2t); }
  NopInHeader nop_in() const { return as<NopInHeader>(Opcode::nop_in); }
  LoginResponseHeader login() const { return as<LoginResponseHeader>(Opcode::login_response); }
  TextResponseHeader text() const { return as<TextResponseHeader>(Opcode::text_response); }
  LogoutResponseHeader logout() const { return as<LogoutResponseHeader>(Opcode::logout_response); }
  TaskMgmtResponseHeader tmf() const { return as<TaskMgmtResponseHeader>(Opcode::task_mgmt_response); }
  RejectHeader reject() const { return as<RejectHeader>(Opcode::reject); }
  AsyncMessageHeader async() const { return as<AsyncMessageHeader>(Opcode::async_message); }
  template <class Header>
  Header as(Opcode want) const {
    EXPECT_EQ(op(), want) << "PDU is not the kind the test reads it as";
    return Header(bhs);
  }
  // Text / login response keys.
  std::map<std::string, std::string> keys() const;
};

std::vector<Pdu> only(const std::vector<Pdu>& pdus, Opcode op);
// The status of a SCSI Response / final Data-In for `itt`, if one came.
std::optional<uint8_t> status_of(const std::vector<Pdu>& pdus, uint32_t itt);

struct Command {
  uint32_t itt = 0x100;
  std::vector<uint8_t> cdb;
  // SCSI Command F, R and W bits (RFC 7143 11.3.1); the task attribute is SIMPLE.
  bool final_bit = true;
  bool read = false;
  bool write = false;
  uint32_t edtl = 0;
  std::vector<uint8_t> data;  // immediate data
  uint64_t lun = 0;
  bool immediate = false;
  std::optional<uint32_t> cmd_sn;  // default: the initiator's next CmdSN
};

// The initiator side of one connection, owning the Connection under test.
class Initiator {
 public:
  Initiator(FakeTargets& targets, SessionRegistry& registry, ConnectionConfig config = {}, std::string peer = "192.0.2.10");
  ~Initiator();

  Connection& conn() { return *conn_; }
  bool has_conn() const { return conn_ != nullptr; }
  void destroy() { conn_.reset(); }
  Clock::time_point now() const { return now_; }
  void advance(std::chrono::milliseconds d) { now_ += d; }
  void tick() { conn_->on_tick(now_); }
  int terminated() const { return terminated_; }

  // Frames and feeds one PDU. DataSegmentLength is set from `data`; digests
  // are added when negotiated (corrupt_data_digest flips the data digest).
  void send(Bhs bhs, std::span<const uint8_t> data = {}, std::span<const uint8_t> ahs = {},
            bool corrupt_data_digest = false);
  // Takes everything from the outbox, decodes it, then tells the connection
  // the write completed.
  std::vector<Pdu> recv();

  // ---- login ----
  LoginRequestHeader login_bhs(uint8_t csg, bool transit, uint8_t nsg, uint16_t tsih = 0) const;
  std::vector<Pdu> login_step(uint8_t csg, bool transit, uint8_t nsg, const Keys& keys);
  // Security stage (AuthMethod=None, T=1 NSG=1) then operational (T=1 NSG=3).
  // Returns the final Login Response; asserts nothing.
  std::vector<Pdu> login(const Keys& operational = {}, const std::string& target = kTarget);
  std::vector<Pdu> login_discovery(const Keys& operational = {});
  // Logs in and clears the POWER ON unit attention with TEST UNIT READY.
  void login_ready(const Keys& operational = {});
  static Keys libiscsi_keys();  // a typical libiscsi operational key set

  // ---- Full Feature Phase builders ----
  ScsiCommandHeader command_bhs(const Command& c);  // consumes a CmdSN unless immediate or cmd_sn set
  void command(const Command& c);
  DataOutHeader data_out_bhs(uint32_t itt, uint32_t ttt, uint32_t data_sn, uint32_t offset, bool final_bit,
                             uint64_t lun = 0) const;
  void data_out(uint32_t itt, uint32_t ttt, uint32_t data_sn, uint32_t offset, std::span<const uint8_t> data,
                bool final_bit = true);
  NopOutHeader nop_out_bhs(uint32_t itt, uint32_t ttt, bool immediate);
  TextRequestHeader text_bhs(uint32_t itt, bool final_bit = true);
  LogoutRequestHeader logout_bhs(uint32_t itt, uint8_t reason, bool immediate = true);
  TaskMgmtRequestHeader tmf_bhs(uint32_t itt, uint8_t function, uint32_t rtt, uint32_t ref_cmd_sn, uint64_t lun = 0,
                              bool immediate = true);

  // ---- convenience ----
  // READ(10)/WRITE(10) through the whole protocol; returns the data read.
  std::vector<uint8_t> read10(uint32_t lba, uint16_t blocks, uint32_t itt);
  // Writes with immediate data / unsolicited data / R2Ts as negotiated, in
  // `chunk`-byte Data-Outs. Returns every PDU received along the way.
  std::vector<Pdu> write10(uint32_t lba, const std::vector<uint8_t>& data, uint32_t itt, uint32_t chunk = 4096);

  uint32_t cmd_sn = 1;       // next CmdSN to use
  uint32_t exp_stat_sn = 0;  // next StatSN we expect
  std::array<uint8_t, 6> isid = kIsid;
  std::string initiator_name = kInitiatorName;
  // Negotiated results seen in the login responses.
  bool header_digest = false;
  bool data_digest = false;
  bool full_feature = false;
  std::map<std::string, std::string> negotiated;
  Keys requested;  // the operational keys we offered

 private:
  void take_keys(const Pdu& p);

  FakeTargets& targets_;
  SessionRegistry& registry_;
  Clock::time_point now_;
  int terminated_ = 0;
  ConnectionConfig config_;  // the Connection refers to these, as to the server's
  PortalInfo portal_;
  std::unique_ptr<Connection> conn_;
};

// CDB builders.
std::vector<uint8_t> read10_cdb(uint32_t lba, uint16_t blocks);
std::vector<uint8_t> write10_cdb(uint32_t lba, uint16_t blocks);
std::vector<uint8_t> inquiry_cdb(uint16_t alloc);
std::vector<uint8_t> tur_cdb();
std::vector<uint8_t> pattern(size_t bytes, uint8_t seed);

// Whole commands: READ(10) of `blocks` blocks, and WRITE(10) carrying all of
// `data` as immediate data (F=1).
Command read10_command(uint32_t itt, uint32_t lba, uint16_t blocks = 8);
Command write10_command(uint32_t itt, uint32_t lba, std::vector<uint8_t> data);
// The Data-In bytes sent for `itt`, in arrival order.
std::vector<uint8_t> data_in_bytes(const std::vector<Pdu>& pdus, uint32_t itt);
// How many statuses (SCSI Response, or Data-In with S) came for `itt`.
size_t status_count(const std::vector<Pdu>& pdus, uint32_t itt);

// A fixture owning the target side and one initiator.
class SessionTest : public ::testing::Test {
 protected:
  FakeTargets targets;
  SessionRegistry registry;

  std::unique_ptr<Initiator> make(ConnectionConfig config = {}, std::string peer = "192.0.2.10") {
    return std::make_unique<Initiator>(targets, registry, config, std::move(peer));
  }
};

}  // namespace scsipub::iscsi::testing
