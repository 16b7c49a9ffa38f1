#pragma once
// TLS server contexts built from PEM files, and their rotation without a
// restart. Certificates from certbot, Caddy or lego are replaced on
// disk every few weeks; the listener must pick the new pair up at the next
// handshake, and must never start serving a pair caught half-written.
//
// Every handshake asks CertificateReloader::current() for the context. Two
// guards keep that cheap: within the cooldown (60 s) it returns the cached
// context without a syscall; after it, one stat() of each file, and the PEM
// files are re-read only when a stamp (mtime, size, inode, device) changed.
// A new pair that does not load (unreadable, truncated, key not matching the
// certificate) is logged once, the old context keeps serving, and the new
// stamps are not remembered, so the next check after the cooldown tries again.
#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "common/result.h"

namespace scsipub::net {

struct TlsFiles {
  std::filesystem::path cert;  // PEM: leaf certificate first, then the chain
  std::filesystem::path key;   // PEM private key
};

// A server context: TLS 1.2 minimum and 1.3 allowed; for 1.2 only ECDHE with
// AEAD ciphers; no compression, no renegotiation, server cipher preference.
// The certificate chain and key are loaded from `files` and the key is checked
// against the certificate.
Result<std::shared_ptr<SSL_CTX>> make_server_context(const TlsFiles& files);

class CertificateReloader {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // What stat() tells about one file; any difference means "changed". The
  // inode catches a rename over the file (lego, Caddy) or a symlink switched
  // to another file (certbot) even when mtime and size happen to match.
  struct FileStamp {
    int64_t mtime_ns = 0;
    uint64_t size = 0;
    uint64_t inode = 0;
    uint64_t device = 0;
    bool operator==(const FileStamp&) const = default;
  };
  using Stamps = std::pair<FileStamp, FileStamp>;  // cert, key
  // Returns nothing when either file cannot be stat'ed. Injectable for tests.
  using Stat = std::function<std::optional<Stamps>(const TlsFiles&)>;

  // stat(2) of both files, following symlinks: certbot's live/ names are
  // symlinks into archive/, and what matters is the file they point at.
  static std::optional<Stamps> stat_files(const TlsFiles& files);

  explicit CertificateReloader(TlsFiles files, std::chrono::seconds cooldown = std::chrono::seconds(60),
                               Clock clock = {}, Stat stat = {});
  CertificateReloader(const CertificateReloader&) = delete;
  CertificateReloader& operator=(const CertificateReloader&) = delete;

  // At start: an error when the files are missing or do not make a context
  // (the caller then serves plain iSCSI only and warns).
  Status load_initial();

  // The context for the handshake starting now; safe from any thread. Null
  // only while no pair has ever loaded.
  std::shared_ptr<SSL_CTX> current();

  uint64_t reloads() const { return reloads_.load(std::memory_order_relaxed); }
  // Failed reloads, counted once per distinct broken state on disk (not once
  // per retry), like the error log.
  uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }

 private:
  using Rep = std::chrono::steady_clock::rep;
  void check_locked(std::chrono::steady_clock::time_point now);
  void note_failure(const std::optional<Stamps>& stamps, const std::string& message);

  const TlsFiles files_;
  const std::chrono::seconds cooldown_;
  const Clock clock_;
  const Stat stat_;

  std::atomic<std::shared_ptr<SSL_CTX>> ctx_;
  std::atomic<Rep> next_check_;  // steady_clock ticks; before it, no syscall
  std::atomic<uint64_t> reloads_{0};
  std::atomic<uint64_t> failures_{0};

  std::mutex mu_;  // held while checking; guards the fields below
  std::optional<Stamps> loaded_;       // stamps of the pair ctx_ was built from
  bool failure_logged_ = false;        // a failure of `failed_` was logged
  std::optional<Stamps> failed_;       // stamps at the last failure (none: stat failed)
};

// A "front" server context for the listener: the same protocol policy, no
// certificate of its own. A ClientHello callback switches each new SSL to
// reloader.current() (SSL_set_SSL_CTX) before any certificate is chosen.
// `reloader` must outlive the returned context and every SSL made from it.
Result<std::shared_ptr<SSL_CTX>> make_front_context(CertificateReloader& reloader);

}  // namespace scsipub::net
