// Login phase, logout, session registry and reinstatement, discovery sessions
// (RFC 7143 sections 6, 11.12-11.15, 6.3.5), driven through Connection.
#include <gtest/gtest.h>

#include "session/harness.h"

namespace scsipub::iscsi::testing {
namespace {

TEST_F(SessionTest, LibiscsiLikeLoginReachesFullFeaturePhase) {
  auto ini = make();
  ini->exp_stat_sn = 0x1234;
  ini->cmd_sn = 0x50;
  auto first = ini->login_step(0, true, 1,
                               {{"InitiatorName", kInitiatorName},
                                {"InitiatorAlias", "harness"},
                                {"TargetName", kTarget},
                                {"SessionType", "Normal"},
                                {"AuthMethod", "None"}});
  ASSERT_EQ(first.size(), 1u);
  const Pdu& r1 = first[0];
  EXPECT_EQ(r1.op(), Opcode::login_response);
  LoginResponseHeader h1 = r1.login();
  EXPECT_TRUE(h1.transit());
  EXPECT_FALSE(h1.continue_bit());
  EXPECT_EQ(h1.csg(), 0);
  EXPECT_EQ(h1.nsg(), 1);
  EXPECT_EQ(h1.version_max(), 0x00);
  EXPECT_EQ(h1.version_active(), 0x00);
  EXPECT_EQ(h1.isid(), kIsid);
  EXPECT_EQ(h1.tsih(), 0u);  // TSIH only in the final response
  EXPECT_EQ(r1.itt(), 0x1000u);
  EXPECT_EQ(r1.stat_sn(), 0x1234u);  // RFC 7143 11.13.4: starts at the first ExpStatSN
  EXPECT_EQ(r1.exp_cmd_sn(), 0x50u);
  EXPECT_EQ(r1.max_cmd_sn(), 0x50u + 127);
  EXPECT_EQ(h1.status_class(), 0);
  EXPECT_EQ(h1.status_detail(), 0);
  auto k1 = r1.keys();
  EXPECT_EQ(k1["AuthMethod"], "None");
  EXPECT_EQ(k1["TargetPortalGroupTag"], "1");
  EXPECT_FALSE(ini->conn().logged_in());

  auto second = ini->login_step(1, true, 3, Initiator::libiscsi_keys());
  ASSERT_EQ(second.size(), 1u);
  const Pdu& r2 = second[0];
  EXPECT_EQ(r2.op(), Opcode::login_response);
  LoginResponseHeader h2 = r2.login();
  EXPECT_TRUE(h2.transit());
  EXPECT_EQ(h2.csg(), 1);
  EXPECT_EQ(h2.nsg(), 3);
  EXPECT_EQ(h2.status_class(), 0);
  EXPECT_EQ(h2.status_detail(), 0);
  EXPECT_NE(h2.tsih(), 0u);
  EXPECT_EQ(h2.isid(), kIsid);
  EXPECT_EQ(r2.itt(), 0x1000u);
  EXPECT_EQ(r2.stat_sn(), 0x1235u);
  EXPECT_EQ(r2.exp_cmd_sn(), 0x50u);
  auto k2 = r2.keys();
  EXPECT_EQ(k2["HeaderDigest"], "None");
  EXPECT_EQ(k2["InitialR2T"], "Yes");
  EXPECT_EQ(k2["MaxRecvDataSegmentLength"], "262144");

  EXPECT_TRUE(ini->conn().logged_in());
  EXPECT_FALSE(ini->conn().closing());
  EXPECT_EQ(ini->conn().initiator_name(), kInitiatorName);
  EXPECT_EQ(ini->conn().target_name(), kTarget);
  EXPECT_EQ(targets.binds, 1);
  EXPECT_EQ(registry.size(), 1u);
  EXPECT_TRUE(targets.unit->attached(ini->conn().session_id()));
  auto recs = registry.snapshot();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].tsih, h2.tsih());
  EXPECT_EQ(recs[0].id, ini->conn().session_id());

  // The first FFP command uses the login's CmdSN; StatSN continues.
  Command inq;
  inq.itt = 1;
  inq.cdb = inquiry_cdb(36);
  inq.read = true;
  inq.edtl = 36;
  ini->command(inq);
  auto pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 1u);
  EXPECT_EQ(pdus[0].op(), Opcode::data_in);
  EXPECT_EQ(pdus[0].stat_sn(), 0x1236u);
  EXPECT_EQ(pdus[0].exp_cmd_sn(), 0x51u);
}

TEST_F(SessionTest, LoginToUnknownTargetFailsWith0203) {
  auto ini = make();
  auto pdus = ini->login({}, "iqn.2025-01.test:nope");
  ASSERT_EQ(pdus.size(), 1u);
  EXPECT_EQ(pdus[0].op(), Opcode::login_response);
  EXPECT_EQ(pdus[0].login().status_class(), login_status::kInitiatorError);
  EXPECT_EQ(pdus[0].login().status_detail(), login_status::kNotFound);
  EXPECT_EQ(pdus[0].login().tsih(), 0u);
  EXPECT_TRUE(ini->conn().closing());
  EXPECT_EQ(ini->conn().close_reason(), CloseReason::login_failed);
  EXPECT_FALSE(ini->conn().logged_in());
  EXPECT_EQ(targets.binds, 0);
  EXPECT_EQ(registry.size(), 0u);
}

TEST_F(SessionTest, NonLoginPduFirstClosesTheConnection) {
  auto ini = make();
  ini->send(ini->nop_out_bhs(1, kReservedTag, true));
  EXPECT_TRUE(ini->conn().closing());
  EXPECT_EQ(ini->conn().close_reason(), CloseReason::protocol_error);
  EXPECT_TRUE(ini->recv().empty());
  // Nothing is accepted once closing.
  ini->login();
  EXPECT_TRUE(ini->recv().empty());
  EXPECT_EQ(registry.size(), 0u);
}

TEST_F(SessionTest, LoginWithNonZeroTsihForUnknownSessionFails) {
  auto ini = make();
  auto text = std::vector<uint8_t>{};
  ini->send(ini->login_bhs(0, true, 1, /*tsih=*/77), text);
  auto pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 1u);
  EXPECT_EQ(pdus[0].login().status_class(), login_status::kInitiatorError);
  EXPECT_EQ(pdus[0].login().status_detail(), login_status::kSessionDoesNotExist);
  EXPECT_TRUE(ini->conn().closing());
}

TEST_F(SessionTest, LoginTimeoutClosesTheConnection) {
  ConnectionConfig cfg;
  cfg.login_timeout = 2000ms;
  auto ini = make(cfg);
  EXPECT_EQ(ini->conn().next_deadline(), ini->now() + 2000ms);
  ini->login_step(0, true, 1,
                  {{"InitiatorName", kInitiatorName},
                   {"TargetName", kTarget},
                   {"SessionType", "Normal"},
                   {"AuthMethod", "None"}});
  ini->advance(1999ms);
  ini->tick();
  EXPECT_FALSE(ini->conn().closing());
  ini->advance(1ms);
  ini->tick();
  EXPECT_TRUE(ini->conn().closing());
  EXPECT_EQ(ini->conn().close_reason(), CloseReason::login_timeout);
  EXPECT_TRUE(ini->recv().empty());
}

TEST_F(SessionTest, LogoutClosesAndReleasesTheSession) {
  auto ini = make();
  ini->login_ready();
  uint64_t id = ini->conn().session_id();
  EXPECT_TRUE(targets.unit->attached(id));
  uint32_t stat_sn = ini->exp_stat_sn;
  ini->send(ini->logout_bhs(0x77, /*reason=*/0));
  auto pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 1u);
  const Pdu& r = pdus[0];
  EXPECT_EQ(r.op(), Opcode::logout_response);
  EXPECT_EQ(r.logout().response(), 0);  // closed successfully
  EXPECT_EQ(r.itt(), 0x77u);
  EXPECT_EQ(r.stat_sn(), stat_sn);
  EXPECT_EQ(r.exp_cmd_sn(), ini->cmd_sn);
  EXPECT_EQ(r.logout().time2wait(), 0u);
  EXPECT_EQ(r.logout().time2retain(), 0u);
  EXPECT_TRUE(ini->conn().closing());
  EXPECT_EQ(ini->conn().close_reason(), CloseReason::logout);
  EXPECT_EQ(registry.size(), 1u);  // until the transport drops the connection
  EXPECT_EQ(targets.unbinds, 0);

  ini->destroy();
  EXPECT_EQ(registry.size(), 0u);
  EXPECT_EQ(targets.binds, 1);
  EXPECT_EQ(targets.unbinds, 1);
  EXPECT_FALSE(targets.unit->attached(id));
  EXPECT_EQ(targets.unit->attached_count(), 0u);
}

TEST_F(SessionTest, LogoutRecoveryReasonIsNotSupportedAtErl0) {
  auto ini = make();
  ini->login_ready();
  ini->send(ini->logout_bhs(0x78, /*reason=*/2));
  auto pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 1u);
  EXPECT_EQ(pdus[0].op(), Opcode::logout_response);
  EXPECT_EQ(pdus[0].logout().response(), 2);  // connection recovery not supported
  EXPECT_FALSE(ini->conn().closing());
}

TEST_F(SessionTest, ConnectionDroppedWithoutLogoutStillReleases) {
  auto ini = make();
  ini->login_ready();
  // A write left waiting for its data when the connection dies.
  Command w;
  w.itt = 9;
  w.cdb = write10_cdb(0, 16);
  w.write = true;
  w.edtl = 8192;
  ini->command(w);
  EXPECT_EQ(only(ini->recv(), Opcode::r2t).size(), 1u);
  ini->destroy();
  EXPECT_EQ(registry.size(), 0u);
  EXPECT_EQ(targets.unbinds, 1);
}

TEST_F(SessionTest, ReinstatementFromSamePeerTerminatesOldSession) {
  auto a = make({}, "192.0.2.10");
  a->login_ready();
  auto b = make({}, "192.0.2.10");
  b->login();
  ASSERT_TRUE(b->full_feature);
  EXPECT_EQ(a->terminated(), 1);  // RFC 7143 6.3.5
  EXPECT_EQ(b->terminated(), 0);
  EXPECT_EQ(registry.size(), 1u);
  EXPECT_EQ(registry.snapshot()[0].id, b->conn().session_id());
  EXPECT_EQ(targets.binds, 2);
  a->destroy();  // the transport closes the terminated connection
  EXPECT_EQ(registry.size(), 1u);
  EXPECT_EQ(targets.unbinds, 1);
  EXPECT_TRUE(targets.unit->attached(b->conn().session_id()));
}

TEST_F(SessionTest, SameKeyFromAnotherPeerDoesNotReinstate) {
  auto a = make({}, "192.0.2.10");
  a->login_ready();
  auto c = make({}, "198.51.100.7");
  auto pdus = c->login();
  ASSERT_TRUE(c->full_feature);
  EXPECT_EQ(a->terminated(), 0);
  EXPECT_EQ(registry.size(), 2u);
  auto recs = registry.snapshot();
  EXPECT_NE(recs[0].tsih, recs[1].tsih);
  EXPECT_FALSE(a->conn().closing());
  EXPECT_TRUE(targets.unit->attached(a->conn().session_id()));
  EXPECT_TRUE(targets.unit->attached(c->conn().session_id()));
}

TEST_F(SessionTest, DifferentIsidFromSamePeerIsANewSession) {
  auto a = make();
  a->login_ready();
  auto b = make();
  b->isid[5] = 0x02;
  b->login();
  EXPECT_EQ(a->terminated(), 0);
  EXPECT_EQ(registry.size(), 2u);
}

TEST_F(SessionTest, DiscoverySessionAnswersSendTargets) {
  auto d = make();
  auto login = d->login_discovery();
  ASSERT_TRUE(d->full_feature);
  EXPECT_TRUE(d->conn().logged_in());
  EXPECT_EQ(targets.binds, 0);  // discovery binds nothing
  EXPECT_EQ(registry.size(), 1u);
  EXPECT_TRUE(registry.snapshot()[0].discovery);

  TextWriter w;
  w.add("SendTargets", "All");
  auto text = w.take();
  uint32_t stat_sn = d->exp_stat_sn;
  d->send(d->text_bhs(0x42), text);
  auto pdus = d->recv();
  ASSERT_EQ(pdus.size(), 1u);
  const Pdu& r = pdus[0];
  EXPECT_EQ(r.op(), Opcode::text_response);
  EXPECT_TRUE(r.text().final_bit());
  EXPECT_FALSE(r.text().continue_bit());
  EXPECT_EQ(r.itt(), 0x42u);
  EXPECT_EQ(r.ttt(), kReservedTag);
  EXPECT_EQ(r.stat_sn(), stat_sn);
  auto k = r.keys();
  EXPECT_EQ(k["TargetName"], kTarget);
  EXPECT_EQ(k["TargetAddress"], "192.0.2.1:3260,1");
}

// The Text state is made at the first Text Request, after login: it must
// still know the session's own target (an empty SendTargets= in a normal
// session reports only that one) and answer again on a second request.
TEST_F(SessionTest, NormalSessionAnswersEmptySendTargetsWithItsOwnTarget) {
  auto ini = make();
  ini->login_ready();
  for (uint32_t itt : {0x51u, 0x52u}) {
    TextWriter w;
    w.add("SendTargets", "");
    auto text = w.take();
    ini->send(ini->text_bhs(itt), text);
    auto pdus = ini->recv();
    ASSERT_EQ(pdus.size(), 1u);
    EXPECT_EQ(pdus[0].op(), Opcode::text_response);
    EXPECT_EQ(pdus[0].itt(), itt);
    auto k = pdus[0].keys();
    EXPECT_EQ(k["TargetName"], kTarget);
  }
}

TEST_F(SessionTest, ScsiCommandInDiscoverySessionIsRejected) {
  auto d = make();
  d->login_discovery();
  Command c;
  c.itt = 5;
  c.cdb = tur_cdb();
  Bhs cmd = d->command_bhs(c);
  d->send(cmd);
  auto pdus = d->recv();
  ASSERT_EQ(pdus.size(), 1u);
  EXPECT_EQ(pdus[0].op(), Opcode::reject);
  EXPECT_EQ(pdus[0].reject().reason(), 0x04);  // protocol error
  EXPECT_EQ(pdus[0].itt(), kReservedTag);
  ASSERT_EQ(pdus[0].data.size(), kBhsSize);  // RFC 7143 11.17.1: the rejected header
  EXPECT_EQ(pdus[0].data[0] & 0x3f, 0x01);
  EXPECT_EQ(load_be32(&pdus[0].data[16]), 5u);
  EXPECT_FALSE(d->conn().closing());
  // Data-Out has no place in a discovery session either.
  d->data_out(5, kReservedTag, 0, 0, std::vector<uint8_t>(512, 1));
  pdus = d->recv();
  ASSERT_EQ(pdus.size(), 1u);
  EXPECT_EQ(pdus[0].op(), Opcode::reject);
}

TEST_F(SessionTest, UnknownOpcodeIsRejectedAsNotSupported) {
  auto ini = make();
  ini->login_ready();
  NopOutHeader b;  // a NOP-Out's fields under an opcode no RFC defines
  b.set_opcode_raw(0x1c);  // vendor-specific initiator opcode
  b.set_itt(0x99);
  b.set_cmd_sn(ini->cmd_sn);
  b.set_exp_stat_sn(ini->exp_stat_sn);
  uint32_t stat_sn = ini->exp_stat_sn;
  ini->send(b);
  auto pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 1u);
  EXPECT_EQ(pdus[0].op(), Opcode::reject);
  EXPECT_EQ(pdus[0].reject().reason(), 0x05);  // command not supported
  EXPECT_EQ(pdus[0].stat_sn(), stat_sn);
  ASSERT_EQ(pdus[0].data.size(), kBhsSize);
  EXPECT_EQ(pdus[0].data[0], 0x1c);
  EXPECT_FALSE(ini->conn().closing());
}

}  // namespace
}  // namespace scsipub::iscsi::testing
