#pragma once
// A small synchronous iSCSI client on libiscsi for the integration programs:
// one object is one login (one I_T nexus), logged out in the destructor.
// Automatic reconnect is off on purpose: a reconnect to a free-tier target is a
// new login with a new private disk, and a test must see that as an error.
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace integ {

// Runs a sync libiscsi command up to `attempts` times while it ends in UNIT
// ATTENTION. Returns the GOOD task, or nullptr with *err describing the
// transport error or the final status and sense.
template <typename F>
scsi_task* run_retrying_unit_attention(iscsi_context* ctx, F f, std::string* err, int attempts) {
  for (int attempt = 0; attempt < attempts; ++attempt) {
    scsi_task* t = f();
    if (t == nullptr) {
      *err = std::string("transport error: ") + iscsi_get_error(ctx);
      return nullptr;
    }
    if (t->status == SCSI_STATUS_GOOD) return t;
    if (t->status == SCSI_STATUS_CHECK_CONDITION && t->sense.key == SCSI_SENSE_UNIT_ATTENTION) {
      scsi_free_scsi_task(t);
      continue;
    }
    char buf[256];
    std::snprintf(buf, sizeof buf, "SCSI status 0x%x sense %s/%s: %s", t->status, scsi_sense_key_str(t->sense.key),
                  scsi_sense_ascq_str(t->sense.ascq), iscsi_get_error(ctx));
    *err = buf;
    scsi_free_scsi_task(t);
    return nullptr;
  }
  *err = "UNIT ATTENTION did not clear after " + std::to_string(attempts) + " attempts";
  return nullptr;
}

class Session {
 public:
  // Logs in to an iscsi://host:port/iqn/lun URL. isid_qualifier makes the ISID
  // differ between sessions of the same initiator name. nullptr + *err on failure.
  static std::unique_ptr<Session> login(const std::string& url, const std::string& initiator,
                                        uint32_t isid_qualifier, std::string* err,
                                        bool digests = false) {
    std::unique_ptr<Session> s(new Session());
    s->ctx_ = iscsi_create_context(initiator.c_str());
    if (s->ctx_ == nullptr) {
      *err = "iscsi_create_context failed";
      return nullptr;
    }
    iscsi_url* u = iscsi_parse_full_url(s->ctx_, url.c_str());
    if (u == nullptr) {
      *err = "bad URL " + url + ": " + iscsi_get_error(s->ctx_);
      return nullptr;
    }
    s->lun_ = u->lun;
    // CHAP when the URL carries iscsi://user%secret@... (a provisioned disk).
    if (u->user[0] != '\0' && iscsi_set_initiator_username_pwd(s->ctx_, u->user, u->passwd) != 0) {
      *err = std::string("iscsi_set_initiator_username_pwd: ") + iscsi_get_error(s->ctx_);
      iscsi_destroy_url(u);
      return nullptr;
    }
    iscsi_set_isid_random(s->ctx_, 0x5a5a5a, isid_qualifier);
    iscsi_set_targetname(s->ctx_, u->target);
    iscsi_set_session_type(s->ctx_, ISCSI_SESSION_NORMAL);
    iscsi_set_header_digest(s->ctx_, digests ? ISCSI_HEADER_DIGEST_CRC32C : ISCSI_HEADER_DIGEST_NONE);
    iscsi_set_noautoreconnect(s->ctx_, 1);
    iscsi_set_timeout(s->ctx_, 30);
    const std::string portal = u->portal;
    iscsi_destroy_url(u);
    if (iscsi_full_connect_sync(s->ctx_, portal.c_str(), s->lun_) != 0) {
      *err = "login to " + url + " failed: " + iscsi_get_error(s->ctx_);
      return nullptr;
    }
    s->logged_in_ = true;
    scsi_task* t = s->run([&] { return iscsi_readcapacity16_sync(s->ctx_, s->lun_); }, err);
    if (t == nullptr) return nullptr;
    auto* rc = static_cast<scsi_readcapacity16*>(scsi_datain_unmarshall(t));
    if (rc == nullptr) {
      scsi_free_scsi_task(t);
      *err = "READ CAPACITY(16) unmarshall failed";
      return nullptr;
    }
    s->block_size_ = rc->block_length;
    s->blocks_ = rc->returned_lba + 1;
    scsi_free_scsi_task(t);
    return s;
  }

  ~Session() {
    if (ctx_ != nullptr) {
      if (logged_in_) iscsi_logout_sync(ctx_);
      iscsi_destroy_context(ctx_);
    }
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Explicit logout; the destructor then only frees.
  bool logout(std::string* err) {
    if (!logged_in_) return true;
    logged_in_ = false;
    if (iscsi_logout_sync(ctx_) != 0) {
      *err = std::string("logout failed: ") + iscsi_get_error(ctx_);
      return false;
    }
    return true;
  }

  uint64_t blocks() const { return blocks_; }
  uint32_t block_size() const { return block_size_; }
  iscsi_context* ctx() { return ctx_; }
  int lun() const { return lun_; }

  bool read(uint64_t lba, uint32_t nblocks, std::vector<uint8_t>& out, std::string* err) {
    const uint32_t len = nblocks * block_size_;
    scsi_task* t = run([&] { return iscsi_read16_sync(ctx_, lun_, lba, len, int(block_size_), 0, 0, 0, 0, 0); }, err);
    if (t == nullptr) return false;
    if (t->datain.size != int(len)) {
      *err = "READ(16) lba " + std::to_string(lba) + " returned " + std::to_string(t->datain.size) +
             " bytes, want " + std::to_string(len);
      scsi_free_scsi_task(t);
      return false;
    }
    out.assign(t->datain.data, t->datain.data + len);
    scsi_free_scsi_task(t);
    return true;
  }

  bool write(uint64_t lba, std::span<const uint8_t> data, std::string* err) {
    scsi_task* t = run(
        [&] {
          return iscsi_write16_sync(ctx_, lun_, lba, const_cast<uint8_t*>(data.data()), uint32_t(data.size()),
                                    int(block_size_), 0, 0, 0, 0, 0);
        },
        err);
    if (t == nullptr) return false;
    scsi_free_scsi_task(t);
    return true;
  }

 private:
  Session() = default;

  // Runs a sync command; retries a few times on UNIT ATTENTION (a fresh I_T
  // nexus may see "power on / reset" once). Returns a GOOD task or nullptr.
  template <typename F>
  scsi_task* run(F f, std::string* err) {
    return run_retrying_unit_attention(ctx_, f, err, 4);
  }

  iscsi_context* ctx_ = nullptr;
  int lun_ = 0;
  bool logged_in_ = false;
  uint64_t blocks_ = 0;
  uint32_t block_size_ = 512;
};

// Deterministic, distinct content per (seed, lba): splitmix64 per 8 bytes.
inline void fill_pattern(std::span<uint8_t> buf, uint64_t seed, uint64_t first_lba, uint32_t block_size) {
  for (size_t off = 0; off + 8 <= buf.size(); off += 8) {
    uint64_t z = seed * 0x9e3779b97f4a7c15ull + (first_lba * block_size + off) + 0x632be59bd9b4e019ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    for (int i = 0; i < 8; ++i) buf[off + size_t(i)] = uint8_t(z >> (8 * i));
  }
}

// First differing offset, or -1.
inline long first_diff(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  if (a.size() != b.size()) return 0;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) return long(i);
  return -1;
}

}  // namespace integ
