// A libiscsi client for the provisioned-disk integration scripts
// (provisioned_iscsi.sh, provisioned_durability.sh, provisioned_api.sh).
// Every subcommand is one small step; the scripts combine them and count checks.
//
//   provisioned_client login    URL [opts]            log in, print "login ok lun=L blocks=N block_size=B"
//   provisioned_client luns     URL [opts]            REPORT LUNS + READ CAPACITY(16) of each: "lun L blocks N block_size B"
//   provisioned_client compare  URL FILE [opts]       the whole LU equals FILE (sizes too)
//   provisioned_client dump     URL FILE [opts]       read the whole LU into FILE: "dump ok N bytes"
//   provisioned_client put      URL LBA FILE [opts]   write FILE (a whole number of blocks) at LBA, then
//                                                     SYNCHRONIZE CACHE(10): "put ok N bytes"
//   provisioned_client write    URL SEED [opts] [--gen G] [--sync|--fua] [--hold S]
//                                                     write the pattern SEED to the standard ranges (generation
//                                                     G = 0..2: disjoint sets of ranges); --sync: then
//                                                     SYNCHRONIZE CACHE(10); --fua: every WRITE(16) with FUA;
//                                                     --hold S: print "written" and stay logged in for S seconds
//   provisioned_client verify   URL SEED [opts] [--gen G] [--base FILE]
//                                                     the standard ranges hold pattern SEED, the gaps between them
//                                                     hold FILE's bytes (zeros without --base)
//   provisioned_client shared   URL [opts]            two concurrent logins, different InitiatorNames, share data
//   provisioned_client sessions URL N [opts] [--hold S]
//                                                     N logins at once (names ...:s0..), "session I ok" or
//                                                     "session I failed status=CC/DD: ..."
//   provisioned_client discover PORTAL [opts]         SendTargets=All: "target NAME portal P" per line
//   provisioned_client pr-out   URL SA KEY SAKEY TYPE [opts]
//                                                     PERSISTENT RESERVE OUT (SA 0 REGISTER, 1 RESERVE, 2 RELEASE,
//                                                     3 CLEAR, 4 PREEMPT, 6 REGISTER AND IGNORE): "pr-out ok",
//                                                     "pr-out conflict" or "pr-out failed: ..."
//   provisioned_client pr-show  URL [opts]            "pr generation G keys K,K reservation KEY type T"
//                                                     (reservation none when not reserved), keys in hex
//   provisioned_client pr-write URL [opts]            one WRITE(10) of LBA 0: "write ok" / "write conflict"
//   provisioned_client load     URL STATUS N [--hold S]  generations of self-describing 4 KiB blocks 0..N-1
//                                                     until STATUS.stop exists; STATUS = last complete generation
//   provisioned_client loadcheck URL N MINGEN         every block is one whole write of a generation >= MINGEN
//   provisioned_client dump     URL FILE              the whole LU into FILE
//
// URL is iscsi://[user%secret@]host:port/IQN/LUN (PORTAL: host:port). opts:
//   --initiator IQN        (default iqn.2025-01.test.provisioned:client)
//   --isid N               ISID qualifier (default 1)
//   --target-user U --target-secret S   mutual CHAP (CHAP_N must be U)
// A login failure prints "login failed status=CC/DD: <libiscsi error>" (CC/DD in
// hex, "xx/xx" when libiscsi did not report a login status) and exits 1.
// Exit 0: done and every check held; 1: a check or login failed; 2: usage/setup.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "iscsi_client.h"  // fill_pattern, first_diff

namespace {

int g_failures = 0;

void fail(const std::string& what) {
  ++g_failures;
  std::printf("FAIL: %s\n", what.c_str());
  std::fflush(stdout);
}

void say(const std::string& what) {
  std::printf("%s\n", what.c_str());
  std::fflush(stdout);
}

[[noreturn]] void usage_error(const std::string& what) {
  std::fprintf(stderr, "provisioned_client: %s\n", what.c_str());
  std::exit(2);
}

struct Options {
  std::string initiator = "iqn.2025-01.test.provisioned:client";
  uint32_t isid = 1;
  std::string target_user, target_secret;
  std::string base;  // --base FILE
  bool sync = false, fua = false;
  int hold = 0;      // seconds
  uint32_t gen = 0;  // --gen: which generation of the standard ranges
  std::vector<std::string> positional;
};

Options parse(int argc, char** argv, int first) {
  Options o;
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--initiator") o.initiator = value();
    else if (a == "--isid") o.isid = uint32_t(std::stoul(value()));
    else if (a == "--target-user") o.target_user = value();
    else if (a == "--target-secret") o.target_secret = value();
    else if (a == "--base") o.base = value();
    else if (a == "--hold") o.hold = std::stoi(value());
    else if (a == "--gen") o.gen = uint32_t(std::stoul(value()));
    else if (a == "--sync") o.sync = true;
    else if (a == "--fua") o.fua = true;
    else if (a.starts_with("--")) usage_error("unknown option " + a);
    else o.positional.push_back(a);
  }
  return o;
}

// "Failed to log in to target. Status: Authentication failure(513)" -> "02/01".
std::string login_status_of(const std::string& err) {
  auto s = err.find("Status:");
  if (s == std::string::npos) return "xx/xx";
  auto open = err.find('(', s);
  auto close = err.find(')', open == std::string::npos ? s : open);
  if (open == std::string::npos || close == std::string::npos) return "xx/xx";
  try {
    int v = std::stoi(err.substr(open + 1, close - open - 1));
    char buf[8];
    std::snprintf(buf, sizeof buf, "%02x/%02x", (v >> 8) & 0xff, v & 0xff);
    return buf;
  } catch (...) {
    return "xx/xx";
  }
}

// One login (normal or discovery session).
class Conn {
 public:
  ~Conn() {
    if (ctx_ != nullptr) {
      if (logged_in_) iscsi_logout_sync(ctx_);
      iscsi_destroy_context(ctx_);
    }
  }
  iscsi_context* ctx() { return ctx_; }
  int lun() const { return lun_; }
  uint64_t blocks() const { return blocks_; }
  uint32_t block_size() const { return block_size_; }

  // url: iscsi://... for a normal session, or "host:port" (optionally
  // "user%secret@host:port") for discovery. Returns "" or the error line.
  std::string login(const std::string& url, const Options& o, bool discovery) {
    ctx_ = iscsi_create_context(o.initiator.c_str());
    if (ctx_ == nullptr) return "iscsi_create_context failed";
    std::string portal, user, secret, target;
    if (discovery) {
      std::string rest = url;
      if (auto at = rest.rfind('@'); at != std::string::npos) {
        std::string cred = rest.substr(0, at);
        rest = rest.substr(at + 1);
        auto pct = cred.find('%');
        if (pct == std::string::npos) return "discovery credentials must be user%secret";
        user = cred.substr(0, pct);
        secret = cred.substr(pct + 1);
      }
      portal = rest;
    } else {
      iscsi_url* u = iscsi_parse_full_url(ctx_, url.c_str());
      if (u == nullptr) return std::string("bad URL ") + url + ": " + iscsi_get_error(ctx_);
      portal = u->portal;
      target = u->target;
      user = u->user;
      secret = u->passwd;
      lun_ = u->lun;
      iscsi_destroy_url(u);
    }
    iscsi_set_isid_random(ctx_, 0x5a5a5a, o.isid);
    iscsi_set_noautoreconnect(ctx_, 1);
    iscsi_set_timeout(ctx_, 30);
    iscsi_set_header_digest(ctx_, ISCSI_HEADER_DIGEST_NONE);
    if (!user.empty() && iscsi_set_initiator_username_pwd(ctx_, user.c_str(), secret.c_str()) != 0)
      return std::string("iscsi_set_initiator_username_pwd: ") + iscsi_get_error(ctx_);
    if (!o.target_user.empty() &&
        iscsi_set_target_username_pwd(ctx_, o.target_user.c_str(), o.target_secret.c_str()) != 0)
      return std::string("iscsi_set_target_username_pwd: ") + iscsi_get_error(ctx_);
    if (discovery) {
      iscsi_set_session_type(ctx_, ISCSI_SESSION_DISCOVERY);
      if (iscsi_connect_sync(ctx_, portal.c_str()) != 0)
        return std::string("connect failed: ") + iscsi_get_error(ctx_);
      if (iscsi_login_sync(ctx_) != 0) return login_failure();
      logged_in_ = true;
      return "";
    }
    iscsi_set_targetname(ctx_, target.c_str());
    iscsi_set_session_type(ctx_, ISCSI_SESSION_NORMAL);
    if (iscsi_full_connect_sync(ctx_, portal.c_str(), lun_) != 0) return login_failure();
    logged_in_ = true;
    return capacity();
  }

  bool logout(std::string* err) {
    if (!logged_in_) return true;
    logged_in_ = false;
    if (iscsi_logout_sync(ctx_) != 0) {
      *err = std::string("logout failed: ") + iscsi_get_error(ctx_);
      return false;
    }
    return true;
  }

  // Runs a sync command; retries on UNIT ATTENTION. GOOD task or nullptr.
  template <typename F>
  scsi_task* run(F f, std::string* err) {
    return integ::run_retrying_unit_attention(ctx_, f, err, 6);
  }

  // READ CAPACITY(16) of `lun` into blocks/block_size; "" or error.
  std::string capacity_of(int lun, uint64_t* blocks, uint32_t* bs) {
    std::string err;
    scsi_task* t = run([&] { return iscsi_readcapacity16_sync(ctx_, lun); }, &err);
    if (t == nullptr) return "READ CAPACITY(16) LUN " + std::to_string(lun) + ": " + err;
    auto* rc = static_cast<scsi_readcapacity16*>(scsi_datain_unmarshall(t));
    if (rc == nullptr) {
      scsi_free_scsi_task(t);
      return "READ CAPACITY(16) unmarshall failed";
    }
    *bs = rc->block_length;
    *blocks = rc->returned_lba + 1;
    scsi_free_scsi_task(t);
    return "";
  }

  bool read(uint64_t lba, uint32_t n, std::vector<uint8_t>& out, std::string* err) {
    const uint32_t len = n * block_size_;
    scsi_task* t = run([&] { return iscsi_read16_sync(ctx_, lun_, lba, len, int(block_size_), 0, 0, 0, 0, 0); }, err);
    if (t == nullptr) return false;
    if (t->datain.size != int(len)) {
      *err = "READ(16) lba " + std::to_string(lba) + " returned " + std::to_string(t->datain.size) + " bytes";
      scsi_free_scsi_task(t);
      return false;
    }
    out.assign(t->datain.data, t->datain.data + len);
    scsi_free_scsi_task(t);
    return true;
  }

  bool write(uint64_t lba, std::vector<uint8_t>& data, bool fua, std::string* err) {
    scsi_task* t = run(
        [&] {
          return iscsi_write16_sync(ctx_, lun_, lba, data.data(), uint32_t(data.size()), int(block_size_), 0, 0,
                                    fua ? 1 : 0, 0, 0);
        },
        err);
    if (t == nullptr) return false;
    scsi_free_scsi_task(t);
    return true;
  }

  bool sync_cache(std::string* err) {
    scsi_task* t = run([&] { return iscsi_synchronizecache10_sync(ctx_, lun_, 0, 0, 0, 0); }, err);
    if (t == nullptr) return false;
    scsi_free_scsi_task(t);
    return true;
  }
  bool unmap(uint64_t lba, uint32_t blocks, std::string* err) {
    unmap_list range{lba, blocks};
    scsi_task* t = run([&] { return iscsi_unmap_sync(ctx_, lun_, 0, 0, &range, 1); }, err);
    if (t == nullptr) return false;
    scsi_free_scsi_task(t);
    return true;
  }

 private:
  std::string login_failure() {
    std::string e = iscsi_get_error(ctx_);
    return "login failed status=" + login_status_of(e) + ": " + e;
  }
  std::string capacity() { return capacity_of(lun_, &blocks_, &block_size_); }

  iscsi_context* ctx_ = nullptr;
  int lun_ = 0;
  bool logged_in_ = false;
  uint64_t blocks_ = 0;
  uint32_t block_size_ = 512;
};

std::unique_ptr<Conn> login_or_report(const std::string& url, const Options& o, bool discovery = false) {
  auto c = std::make_unique<Conn>();
  std::string e = c->login(url, o, discovery);
  if (!e.empty()) {
    say(e.starts_with("login failed") ? e : "login failed status=xx/xx: " + e);
    return nullptr;
  }
  return c;
}

struct Range {
  uint64_t lba;
  uint32_t blocks;
};

// Generation g (0..2) of the standard ranges: near the start, a 1 MiB run,
// an unaligned middle piece, 64 blocks at the end. Different generations
// never overlap, so a later write touches sectors (and bitmap bits) that were
// never written before.
std::vector<Range> ranges_for(uint64_t n, uint32_t g) {
  static constexpr uint64_t kRun[] = {4096, 2048, 0};
  const uint64_t run = g == 2 ? n / 4 * 3 : kRun[g];
  std::vector<Range> r{{16 * g, 8}, {run, 2048}, {n / 2 + 3 + 37 * g, 17}, {n - 64 * (g + 1), 64}};
  std::vector<Range> ok;
  for (auto x : r)
    if (x.lba + x.blocks <= n) ok.push_back(x);
  return ok;
}

// Pieces no generation writes: they must keep the base's bytes.
std::vector<Range> gaps_for(uint64_t n) {
  std::vector<Range> r{{8, 8}, {24, 8}, {4096 + 2048, 8}, {n / 2 - 13, 16}, {n - 200, 8}};
  std::vector<Range> ok;
  for (auto x : r)
    if (x.lba + x.blocks <= n) ok.push_back(x);
  return ok;
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) usage_error("cannot read " + path);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

bool write_ranges(Conn& c, uint64_t seed, uint32_t gen, bool fua, const std::string& who) {
  for (auto r : ranges_for(c.blocks(), gen)) {
    std::vector<uint8_t> buf(size_t(r.blocks) * c.block_size());
    integ::fill_pattern(buf, seed, r.lba, c.block_size());
    std::string err;
    if (!c.write(r.lba, buf, fua, &err)) {
      fail(who + ": write lba " + std::to_string(r.lba) + ": " + err);
      return false;
    }
  }
  return true;
}

void verify_ranges(Conn& c, uint64_t seed, uint32_t gen, const std::vector<uint8_t>* base, const std::string& who) {
  const uint32_t bs = c.block_size();
  for (auto r : ranges_for(c.blocks(), gen)) {
    std::vector<uint8_t> want(size_t(r.blocks) * bs), got;
    integ::fill_pattern(want, seed, r.lba, bs);
    std::string err;
    if (!c.read(r.lba, r.blocks, got, &err)) {
      fail(who + ": read lba " + std::to_string(r.lba) + ": " + err);
      continue;
    }
    long d = integ::first_diff(got, want);
    if (d >= 0)
      fail(who + ": lba " + std::to_string(r.lba) + "+" + std::to_string(r.blocks) + " differs from pattern " +
           std::to_string(seed) + " at byte " + std::to_string(d));
  }
  for (auto r : gaps_for(c.blocks())) {
    std::vector<uint8_t> want(size_t(r.blocks) * bs, 0), got;
    if (base != nullptr) {
      if ((r.lba + r.blocks) * bs > base->size()) continue;
      std::copy_n(base->begin() + long(r.lba * bs), want.size(), want.begin());
    }
    std::string err;
    if (!c.read(r.lba, r.blocks, got, &err)) {
      fail(who + ": read gap lba " + std::to_string(r.lba) + ": " + err);
      continue;
    }
    long d = integ::first_diff(got, want);
    if (d >= 0)
      fail(who + ": unwritten lba " + std::to_string(r.lba) + "+" + std::to_string(r.blocks) + " differs from " +
           (base ? "the base image" : "zeros") + " at byte " + std::to_string(d));
  }
}

int cmd_login(const Options& o) {
  if (o.positional.size() != 1) usage_error("login URL");
  auto c = login_or_report(o.positional[0], o);
  if (!c) return 1;
  say("login ok lun=" + std::to_string(c->lun()) + " blocks=" + std::to_string(c->blocks()) +
      " block_size=" + std::to_string(c->block_size()));
  std::string err;
  if (!c->logout(&err)) fail(err);
  return g_failures ? 1 : 0;
}

int cmd_luns(const Options& o) {
  if (o.positional.size() != 1) usage_error("luns URL");
  auto c = login_or_report(o.positional[0], o);
  if (!c) return 1;
  std::string err;
  scsi_task* t = c->run([&] { return iscsi_reportluns_sync(c->ctx(), 0, 16384); }, &err);
  if (t == nullptr) {
    fail("REPORT LUNS: " + err);
    return 1;
  }
  auto* list = static_cast<scsi_reportluns_list*>(scsi_datain_unmarshall(t));
  if (list == nullptr) {
    scsi_free_scsi_task(t);
    fail("REPORT LUNS unmarshall failed");
    return 1;
  }
  std::vector<int> luns;
  for (uint32_t i = 0; i < list->num; ++i) luns.push_back(list->luns[i]);
  scsi_free_scsi_task(t);
  for (int lun : luns) {
    uint64_t blocks = 0;
    uint32_t bs = 0;
    std::string e = c->capacity_of(lun, &blocks, &bs);
    if (!e.empty()) {
      fail(e);
      continue;
    }
    say("lun " + std::to_string(lun) + " blocks " + std::to_string(blocks) + " block_size " + std::to_string(bs));
  }
  if (!c->logout(&err)) fail(err);
  return g_failures ? 1 : 0;
}

int cmd_compare(const Options& o) {
  if (o.positional.size() != 2) usage_error("compare URL FILE");
  const auto file = read_file(o.positional[1]);
  auto c = login_or_report(o.positional[0], o);
  if (!c) return 1;
  const uint64_t size = c->blocks() * c->block_size();
  if (size != file.size()) fail("LU is " + std::to_string(size) + " bytes, file " + std::to_string(file.size()));
  const uint32_t bs = c->block_size();
  const uint64_t n = std::min<uint64_t>(c->blocks(), file.size() / bs);
  for (uint64_t lba = 0; lba < n; lba += 256) {
    const uint32_t k = uint32_t(std::min<uint64_t>(256, n - lba));
    std::vector<uint8_t> got;
    std::string err;
    if (!c->read(lba, k, got, &err)) {
      fail("read lba " + std::to_string(lba) + ": " + err);
      break;
    }
    if (integ::first_diff(got, std::span(file).subspan(size_t(lba) * bs, size_t(k) * bs)) >= 0) {
      fail("LU differs from " + o.positional[1] + " in lba " + std::to_string(lba) + "+" + std::to_string(k));
      break;
    }
  }
  if (g_failures == 0) say("compare ok " + std::to_string(size) + " bytes");
  std::string err;
  if (!c->logout(&err)) fail(err);
  return g_failures ? 1 : 0;
}

int cmd_dump(const Options& o) {
  if (o.positional.size() != 2) usage_error("dump URL FILE");
  auto c = login_or_report(o.positional[0], o);
  if (!c) return 1;
  std::ofstream out(o.positional[1], std::ios::binary | std::ios::trunc);
  if (!out) usage_error("cannot write " + o.positional[1]);
  const uint64_t n = c->blocks();
  for (uint64_t lba = 0; lba < n; lba += 256) {
    const uint32_t k = uint32_t(std::min<uint64_t>(256, n - lba));
    std::vector<uint8_t> got;
    std::string err;
    if (!c->read(lba, k, got, &err)) {
      fail("read lba " + std::to_string(lba) + ": " + err);
      break;
    }
    out.write(reinterpret_cast<const char*>(got.data()), std::streamsize(got.size()));
  }
  out.close();
  if (!out) fail("writing " + o.positional[1] + " failed");
  if (g_failures == 0) say("dump ok " + std::to_string(n * c->block_size()) + " bytes");
  std::string err;
  if (!c->logout(&err)) fail(err);
  return g_failures ? 1 : 0;
}

int cmd_put(const Options& o) {
  if (o.positional.size() != 3) usage_error("put URL LBA FILE");
  const uint64_t lba = std::stoull(o.positional[1]);
  auto data = read_file(o.positional[2]);
  auto c = login_or_report(o.positional[0], o);
  if (!c) return 1;
  const uint32_t bs = c->block_size();
  if (data.empty() || data.size() % bs != 0) usage_error("put: FILE must be a non-empty whole number of blocks");
  if (lba + data.size() / bs > c->blocks()) usage_error("put: LBA + FILE runs past the end of the LU");
  std::string err;
  if (!c->write(lba, data, false, &err)) fail("write lba " + std::to_string(lba) + ": " + err);
  if (g_failures == 0 && !c->sync_cache(&err)) fail("SYNCHRONIZE CACHE(10): " + err);
  if (g_failures == 0) say("put ok " + std::to_string(data.size()) + " bytes");
  if (!c->logout(&err)) fail(err);
  return g_failures ? 1 : 0;
}

int cmd_write(const Options& o) {
  if (o.positional.size() != 2) usage_error("write URL SEED");
  const uint64_t seed = std::stoull(o.positional[1]);
  auto c = login_or_report(o.positional[0], o);
  if (!c) return 1;
  if (o.gen > 2) usage_error("--gen is 0, 1 or 2");
  if (!write_ranges(*c, seed, o.gen, o.fua, "write")) return 1;
  std::string err;
  if (o.sync && !c->sync_cache(&err)) {
    fail("SYNCHRONIZE CACHE(10): " + err);
    return 1;
  }
  say(std::string("written seed=") + std::to_string(seed) + (o.sync ? " synced" : "") + (o.fua ? " fua" : ""));
  if (o.hold > 0) {
    // Stay logged in (no logout, which could flush on its own) until killed.
    std::this_thread::sleep_for(std::chrono::seconds(o.hold));
    return 0;
  }
  if (!c->logout(&err)) fail(err);
  return g_failures ? 1 : 0;
}

// UNMAP a range, then read it back: all zeros (the target advertises LBPRZ).
int cmd_unmap(const Options& o) {
  if (o.positional.size() != 3) usage_error("unmap URL LBA BLOCKS");
  const uint64_t lba = std::stoull(o.positional[1]);
  const auto blocks = static_cast<uint32_t>(std::stoul(o.positional[2]));
  auto c = login_or_report(o.positional[0], o);
  if (!c) return 1;
  std::string err;
  if (!c->unmap(lba, blocks, &err)) {
    fail("UNMAP: " + err);
    return 1;
  }
  std::vector<uint8_t> got;
  if (!c->read(lba, blocks, got, &err)) {
    fail("read after UNMAP: " + err);
    return 1;
  }
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i] != 0) {
      fail("byte " + std::to_string(i) + " after UNMAP is not zero");
      break;
    }
  }
  if (g_failures == 0) say("unmap ok lba=" + std::to_string(lba) + " blocks=" + std::to_string(blocks));
  if (!c->logout(&err)) fail(err);
  return g_failures ? 1 : 0;
}

int cmd_verify(const Options& o) {
  if (o.positional.size() != 2) usage_error("verify URL SEED");
  const uint64_t seed = std::stoull(o.positional[1]);
  std::vector<uint8_t> base;
  if (!o.base.empty()) base = read_file(o.base);
  auto c = login_or_report(o.positional[0], o);
  if (!c) return 1;
  if (o.gen > 2) usage_error("--gen is 0, 1 or 2");
  verify_ranges(*c, seed, o.gen, o.base.empty() ? nullptr : &base, "verify");
  if (g_failures == 0) say("verify ok seed=" + std::to_string(seed));
  std::string err;
  if (!c->logout(&err)) fail(err);
  return g_failures ? 1 : 0;
}

// Two logins at once with different InitiatorNames: each sees the other's
// writes immediately (one shared LU, not per-login overlays).
int cmd_shared(const Options& o) {
  if (o.positional.size() != 1) usage_error("shared URL");
  Options oa = o, ob = o;
  oa.initiator = "iqn.2025-01.test.provisioned:node-a";
  ob.initiator = "iqn.2025-01.test.provisioned:node-b";
  ob.isid = o.isid + 1;
  auto a = login_or_report(o.positional[0], oa);
  if (!a) return 1;
  auto b = login_or_report(o.positional[0], ob);
  if (!b) return 1;
  const uint32_t bs = a->block_size();
  const std::vector<Range> rs{{0, 8}, {100, 256}, {a->blocks() - 8, 8}};
  auto check = [&](Conn& reader, uint64_t seed, const std::string& who) {
    for (auto r : rs) {
      std::vector<uint8_t> want(size_t(r.blocks) * bs), got;
      integ::fill_pattern(want, seed, r.lba, bs);
      std::string err;
      if (!reader.read(r.lba, r.blocks, got, &err)) {
        fail(who + ": read: " + err);
        continue;
      }
      long d = integ::first_diff(got, want);
      if (d >= 0) fail(who + ": lba " + std::to_string(r.lba) + " differs at byte " + std::to_string(d));
    }
  };
  auto write = [&](Conn& writer, uint64_t seed, const std::string& who) {
    for (auto r : rs) {
      std::vector<uint8_t> buf(size_t(r.blocks) * bs);
      integ::fill_pattern(buf, seed, r.lba, bs);
      std::string err;
      if (!writer.write(r.lba, buf, false, &err)) fail(who + ": write: " + err);
    }
  };
  write(*a, 0xA1, "A writes");
  check(*b, 0xA1, "B reads A's write");
  check(*a, 0xA1, "A reads its own write");
  if (g_failures == 0) say("shared: B read A's pattern");
  const int before = g_failures;
  write(*b, 0xB2, "B writes");
  check(*a, 0xB2, "A reads B's write");
  if (g_failures == before) say("shared: A read B's pattern");
  std::string err;
  if (!a->logout(&err)) fail("A " + err);
  if (!b->logout(&err)) fail("B " + err);
  return g_failures ? 1 : 0;
}

int cmd_sessions(const Options& o) {
  if (o.positional.size() != 2) usage_error("sessions URL N");
  const int n = std::stoi(o.positional[1]);
  std::vector<std::unique_ptr<Conn>> held;
  for (int i = 0; i < n; ++i) {
    Options oi = o;
    oi.initiator = o.initiator + "-s" + std::to_string(i);
    oi.isid = o.isid + uint32_t(i);
    auto c = std::make_unique<Conn>();
    std::string e = c->login(o.positional[0], oi, false);
    if (e.empty()) {
      say("session " + std::to_string(i) + " ok");
      held.push_back(std::move(c));
    } else {
      say("session " + std::to_string(i) + " " + e);
    }
  }
  if (o.hold > 0) std::this_thread::sleep_for(std::chrono::seconds(o.hold));
  return 0;
}

int cmd_discover(const Options& o) {
  if (o.positional.size() != 1) usage_error("discover [user%secret@]HOST:PORT");
  auto c = login_or_report(o.positional[0], o, true);
  if (!c) return 1;
  iscsi_discovery_address* da = iscsi_discovery_sync(c->ctx());
  if (da == nullptr) {
    fail(std::string("SendTargets failed: ") + iscsi_get_error(c->ctx()));
    return 1;
  }
  size_t n = 0;
  for (auto* a = da; a != nullptr; a = a->next) {
    ++n;
    std::string line = std::string("target ") + a->target_name;
    for (auto* p = a->portals; p != nullptr; p = p->next) line += std::string(" portal ") + p->portal;
    say(line);
  }
  iscsi_free_discovery_data(c->ctx(), da);
  say("discovered " + std::to_string(n));
  std::string err;
  if (!c->logout(&err)) fail(err);
  return g_failures ? 1 : 0;
}

}  // namespace

// PR commands answer RESERVATION CONFLICT as a status, not an error: no retry.
scsi_task* run_once(Conn& c, scsi_task* t, std::string* err) {
  if (t == nullptr) *err = std::string("transport error: ") + iscsi_get_error(c.ctx());
  return t;
}

int cmd_pr_out(const Options& o) {
  if (o.positional.size() != 5) usage_error("pr-out URL SA KEY SAKEY TYPE");
  auto c = login_or_report(o.positional[0], o);
  if (!c) return 1;
  // Clear the login's unit attention first.
  std::string err;
  scsi_task* tur = c->run([&] { return iscsi_testunitready_sync(c->ctx(), c->lun()); }, &err);
  if (tur != nullptr) scsi_free_scsi_task(tur);
  scsi_persistent_reserve_out_basic params{};
  params.reservation_key = std::stoull(o.positional[2], nullptr, 0);
  params.service_action_reservation_key = std::stoull(o.positional[3], nullptr, 0);
  const int sa = std::stoi(o.positional[1]);
  const int type = std::stoi(o.positional[4]);
  scsi_task* t = run_once(*c, iscsi_persistent_reserve_out_sync(c->ctx(), c->lun(), sa, 0, type, &params), &err);
  if (t == nullptr) {
    say("pr-out failed: " + err);
    return 1;
  }
  int status = t->status;
  scsi_free_scsi_task(t);
  if (status == SCSI_STATUS_GOOD) say("pr-out ok");
  else if (status == SCSI_STATUS_RESERVATION_CONFLICT) say("pr-out conflict");
  else say("pr-out failed: status " + std::to_string(status));
  c->logout(&err);
  return status == SCSI_STATUS_GOOD ? 0 : 1;
}

int cmd_pr_show(const Options& o) {
  if (o.positional.size() != 1) usage_error("pr-show URL");
  auto c = login_or_report(o.positional[0], o);
  if (!c) return 1;
  std::string err;
  scsi_task* keys_task = c->run([&] { return iscsi_persistent_reserve_in_sync(c->ctx(), c->lun(), 0, 8192); }, &err);
  if (keys_task == nullptr) {
    say("pr-show failed: " + err);
    return 1;
  }
  auto* keys = static_cast<scsi_persistent_reserve_in_read_keys*>(scsi_datain_unmarshall(keys_task));
  scsi_task* res_task = c->run([&] { return iscsi_persistent_reserve_in_sync(c->ctx(), c->lun(), 1, 8192); }, &err);
  auto* res = res_task != nullptr
                  ? static_cast<scsi_persistent_reserve_in_read_reservation*>(scsi_datain_unmarshall(res_task))
                  : nullptr;
  if (keys == nullptr || res == nullptr) {
    say("pr-show failed: " + (err.empty() ? std::string("unmarshall") : err));
    return 1;
  }
  std::string line = "pr generation " + std::to_string(keys->prgeneration) + " keys ";
  char hex[32];
  for (int i = 0; i < keys->num_keys; ++i) {
    std::snprintf(hex, sizeof hex, "%s0x%llx", i ? "," : "", static_cast<unsigned long long>(keys->keys[i]));
    line += hex;
  }
  if (res->reserved) {
    std::snprintf(hex, sizeof hex, "0x%llx", static_cast<unsigned long long>(res->reservation_key));
    line += std::string(" reservation ") + hex + " type " + std::to_string(res->pr_type);
  } else {
    line += " reservation none";
  }
  say(line);
  scsi_free_scsi_task(keys_task);
  scsi_free_scsi_task(res_task);
  c->logout(&err);
  return 0;
}

int cmd_pr_write(const Options& o) {
  if (o.positional.size() != 1) usage_error("pr-write URL");
  auto c = login_or_report(o.positional[0], o);
  if (!c) return 1;
  std::string err;
  scsi_task* tur = c->run([&] { return iscsi_testunitready_sync(c->ctx(), c->lun()); }, &err);
  if (tur != nullptr) scsi_free_scsi_task(tur);
  std::vector<uint8_t> block(512, 0x5a);
  scsi_task* t = run_once(
      *c, iscsi_write10_sync(c->ctx(), c->lun(), 0, block.data(), uint32_t(block.size()), 512, 0, 0, 0, 0, 0), &err);
  if (t == nullptr) {
    say("write failed: " + err);
    return 1;
  }
  int status = t->status;
  scsi_free_scsi_task(t);
  if (status == SCSI_STATUS_GOOD) say("write ok");
  else if (status == SCSI_STATUS_RESERVATION_CONFLICT) say("write conflict");
  else say("write failed: status " + std::to_string(status));
  c->logout(&err);
  return 0;
}

// --- backup under load: self-describing 4 KiB blocks -----------------------
// Each 512-byte sector of block B of generation G holds "SPLOAD01", G, B, its
// sector index and bytes derived from all three: a block that mixes two
// writes (torn) or sits at the wrong place is seen, whatever its generation.
constexpr uint32_t kLoadSectors = 8;

void fill_load_block(std::vector<uint8_t>& buf, uint64_t gen, uint64_t block) {
  buf.assign(kLoadSectors * 512, 0);
  for (uint32_t s = 0; s < kLoadSectors; ++s) {
    uint8_t* p = buf.data() + s * 512;
    std::memcpy(p, "SPLOAD01", 8);
    std::memcpy(p + 8, &gen, 8);
    std::memcpy(p + 16, &block, 8);
    uint64_t sector = s;
    std::memcpy(p + 24, &sector, 8);
    for (uint32_t i = 32; i < 512; ++i) p[i] = uint8_t(gen * 31 + block * 7 + s * 3 + i);
  }
}

// load URL STATUS N [--hold S]: writes generations 1, 2, ... of blocks
// 0..N-1 until STATUS.stop exists (or S seconds, default 300); after each
// complete generation STATUS holds its number (every write of it acknowledged).
int cmd_load(const Options& o) {
  if (o.positional.size() != 3) usage_error("load URL STATUS N");
  auto c = login_or_report(o.positional[0], o);
  if (!c) return 1;
  const std::string status = o.positional[1];
  const uint64_t n = std::stoull(o.positional[2]);
  if (c->block_size() != 512 || n * kLoadSectors > c->blocks()) usage_error("load: LU too small or not 512-byte blocks");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.hold > 0 ? o.hold : 300);
  std::vector<uint8_t> buf;
  uint64_t gen = 0;
  auto stopped = [&] {
    return std::ifstream(status + ".stop").good() || std::chrono::steady_clock::now() > deadline;
  };
  while (!stopped()) {
    ++gen;
    for (uint64_t b = 0; b < n; ++b) {
      fill_load_block(buf, gen, b);
      std::string err;
      if (!c->write(b * kLoadSectors, buf, false, &err)) {
        fail("load: write gen " + std::to_string(gen) + " block " + std::to_string(b) + ": " + err);
        return 1;
      }
      if (gen > 1 && stopped()) break;
    }
    if (gen > 1 && stopped()) break;
    {
      std::ofstream tmp(status + ".tmp", std::ios::trunc);
      tmp << gen << "\n";
    }
    std::rename((status + ".tmp").c_str(), status.c_str());
  }
  std::string err;
  c->logout(&err);
  say("load done gen " + std::to_string(gen));
  return 0;
}

// loadcheck URL N MINGEN: every block 0..N-1 is one whole block of one
// generation >= MINGEN.
int cmd_loadcheck(const Options& o) {
  if (o.positional.size() != 3) usage_error("loadcheck URL N MINGEN");
  auto c = login_or_report(o.positional[0], o);
  if (!c) return 1;
  const uint64_t n = std::stoull(o.positional[1]);
  const uint64_t min_gen = std::stoull(o.positional[2]);
  uint64_t lo = UINT64_MAX, hi = 0;
  std::vector<uint8_t> got, want;
  for (uint64_t b = 0; b < n; ++b) {
    std::string err;
    if (!c->read(b * kLoadSectors, kLoadSectors, got, &err)) {
      fail("loadcheck: read block " + std::to_string(b) + ": " + err);
      continue;
    }
    uint64_t gen = 0;
    std::memcpy(&gen, got.data() + 8, 8);
    fill_load_block(want, gen, b);
    if (got != want) {
      fail("loadcheck: block " + std::to_string(b) + " is torn or misplaced (first sector says gen " +
           std::to_string(gen) + ")");
      continue;
    }
    if (gen < min_gen) fail("loadcheck: block " + std::to_string(b) + " holds gen " + std::to_string(gen) +
                            ", older than the acknowledged gen " + std::to_string(min_gen));
    lo = std::min(lo, gen);
    hi = std::max(hi, gen);
  }
  std::string err;
  c->logout(&err);
  if (g_failures == 0) say("loadcheck ok blocks " + std::to_string(n) + " gens " + std::to_string(lo) + ".." + std::to_string(hi));
  return g_failures == 0 ? 0 : 1;
}

int main(int argc, char** argv) {
  if (argc < 2) usage_error("usage: provisioned_client login|luns|compare|dump|put|write|verify|shared|sessions|discover ...");
  const std::string cmd = argv[1];
  const Options o = parse(argc, argv, 2);
  try {
    if (cmd == "login") return cmd_login(o);
    if (cmd == "luns") return cmd_luns(o);
    if (cmd == "compare") return cmd_compare(o);
    if (cmd == "dump") return cmd_dump(o);
    if (cmd == "put") return cmd_put(o);
    if (cmd == "write") return cmd_write(o);
    if (cmd == "verify") return cmd_verify(o);
    if (cmd == "unmap") return cmd_unmap(o);
    if (cmd == "shared") return cmd_shared(o);
    if (cmd == "sessions") return cmd_sessions(o);
    if (cmd == "discover") return cmd_discover(o);
    if (cmd == "pr-out") return cmd_pr_out(o);
    if (cmd == "pr-show") return cmd_pr_show(o);
    if (cmd == "pr-write") return cmd_pr_write(o);
    if (cmd == "load") return cmd_load(o);
    if (cmd == "loadcheck") return cmd_loadcheck(o);
  } catch (const std::exception& e) {
    usage_error(std::string("bad argument: ") + e.what());
  }
  usage_error("unknown subcommand " + cmd);
}
