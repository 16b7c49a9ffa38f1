#include "net/tls_certificates.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <spdlog/spdlog.h>

#include <string>

namespace scsipub::net {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Drains OpenSSL's error queue of this thread into one line, so a failure's
// message names its cause and the next call starts with an empty queue.
std::string openssl_errors() {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? std::string("unknown OpenSSL error") : out;
}

Unexpected<Error> ssl_fail(const std::string& what) { return fail(what + ": " + openssl_errors()); }

// The policy shared by the front context and the certificate contexts: the
// front one's settings are what a new SSL copies (SSL_set_SSL_CTX later swaps
// only the certificate side), the others' keep a direct user equally strict.
Status apply_policy(SSL_CTX* ctx) {
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
    return ssl_fail("TLS: cannot set the protocol versions");
  }
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // TLS 1.2 only: forward secrecy and AEAD. TLS 1.3 suites are all of that already.
  if (SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20") != 1) {
    return ssl_fail("TLS: cannot set the cipher list");
  }
  return ok_status();
}

Result<std::shared_ptr<SSL_CTX>> new_server_ctx() {
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!ctx) return ssl_fail("TLS: cannot create a context");
  if (auto st = apply_policy(ctx.get()); !st) return Unexpected<Error>{st.error()};
  return ctx;
}

int64_t mtime_ns(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

int on_client_hello(SSL* ssl, int* alert, void* arg) {
  auto* reloader = static_cast<CertificateReloader*>(arg);
  std::shared_ptr<SSL_CTX> ctx = reloader->current();
  if (!ctx) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_CLIENT_HELLO_ERROR;
  }
  // The SSL takes its own reference, so a reload during this handshake cannot
  // free the context under it.
  if (SSL_get_SSL_CTX(ssl) != ctx.get() && SSL_set_SSL_CTX(ssl, ctx.get()) == nullptr) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_CLIENT_HELLO_ERROR;
  }
  return SSL_CLIENT_HELLO_SUCCESS;
}

}  // namespace

Result<std::shared_ptr<SSL_CTX>> make_server_context(const TlsFiles& files) {
  ERR_clear_error();
  auto ctx = new_server_ctx();
  if (!ctx) return ctx;
  SSL_CTX* c = ctx->get();
  if (SSL_CTX_use_certificate_chain_file(c, files.cert.c_str()) != 1) {
    return ssl_fail("TLS certificate " + files.cert.string());
  }
  if (SSL_CTX_use_PrivateKey_file(c, files.key.c_str(), SSL_FILETYPE_PEM) != 1) {
    // OpenSSL compares the key with the certificate already here; name that
    // case plainly, it is the usual one (a pair caught mid-rotation).
    unsigned long last = ERR_peek_last_error();
    if (ERR_GET_LIB(last) == ERR_LIB_X509 && ERR_GET_REASON(last) == X509_R_KEY_VALUES_MISMATCH) {
      return ssl_fail("TLS key " + files.key.string() + " does not match certificate " + files.cert.string());
    }
    return ssl_fail("TLS key " + files.key.string());
  }
  if (SSL_CTX_check_private_key(c) != 1) {
    return ssl_fail("TLS key " + files.key.string() + " does not match certificate " + files.cert.string());
  }
  return ctx;
}

std::optional<CertificateReloader::Stamps> CertificateReloader::stat_files(const TlsFiles& files) {
  auto one = [](const std::filesystem::path& p) -> std::optional<FileStamp> {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) return std::nullopt;  // stat, not lstat: follow symlinks
    return FileStamp{mtime_ns(st), static_cast<uint64_t>(st.st_size), static_cast<uint64_t>(st.st_ino),
                     static_cast<uint64_t>(st.st_dev)};
  };
  auto cert = one(files.cert);
  auto key = one(files.key);
  if (!cert || !key) return std::nullopt;
  return Stamps{*cert, *key};
}

CertificateReloader::CertificateReloader(TlsFiles files, std::chrono::seconds cooldown, Clock clock, Stat stat)
    : files_(std::move(files)),
      cooldown_(cooldown),
      clock_(clock ? std::move(clock) : Clock([] { return SteadyClock::now(); })),
      stat_(stat ? std::move(stat) : Stat(&CertificateReloader::stat_files)),
      next_check_(SteadyClock::time_point::min().time_since_epoch().count()) {}

Status CertificateReloader::load_initial() {
  std::lock_guard lock(mu_);
  // Stamps before the read: if the files change in between, the next check
  // sees a difference and reloads, rather than missing the change.
  auto stamps = stat_(files_);
  if (!stamps) {
    return fail("TLS: cannot stat " + files_.cert.string() + " or " + files_.key.string() +
                " (missing or unreadable)");
  }
  auto ctx = make_server_context(files_);
  if (!ctx) return Unexpected<Error>{ctx.error()};
  ctx_.store(std::move(*ctx), std::memory_order_release);
  loaded_ = stamps;
  failure_logged_ = false;
  failed_.reset();
  next_check_.store((clock_() + cooldown_).time_since_epoch().count(), std::memory_order_release);
  return ok_status();
}

std::shared_ptr<SSL_CTX> CertificateReloader::current() {
  const auto now = clock_();
  if (now.time_since_epoch().count() < next_check_.load(std::memory_order_acquire)) {
    return ctx_.load(std::memory_order_acquire);
  }
  std::unique_lock lock(mu_, std::try_to_lock);
  if (!lock.owns_lock()) {
    // Another handshake is checking; serve what we have rather than queue
    // behind its file reads. With nothing loaded yet, wait for its result.
    auto ctx = ctx_.load(std::memory_order_acquire);
    if (ctx) return ctx;
    lock.lock();
  }
  if (now.time_since_epoch().count() >= next_check_.load(std::memory_order_acquire)) check_locked(now);
  return ctx_.load(std::memory_order_acquire);
}

void CertificateReloader::check_locked(SteadyClock::time_point now) {
  next_check_.store((now + cooldown_).time_since_epoch().count(), std::memory_order_release);
  auto stamps = stat_(files_);
  if (!stamps) {
    // Mid-rotation (a name briefly missing) or gone for good: keep serving.
    note_failure(std::nullopt, "cannot stat " + files_.cert.string() + " or " + files_.key.string());
    return;
  }
  if (stamps == loaded_) {
    failure_logged_ = false;  // back to the loaded pair: a later breakage is news again
    failed_.reset();
    return;
  }
  auto ctx = make_server_context(files_);
  if (!ctx) {
    note_failure(stamps, ctx.error().message);
    return;
  }
  ctx_.store(std::move(*ctx), std::memory_order_release);
  loaded_ = stamps;
  failure_logged_ = false;
  failed_.reset();
  reloads_.fetch_add(1, std::memory_order_relaxed);
  spdlog::info("TLS certificate reloaded from {}", files_.cert.string());
}

void CertificateReloader::note_failure(const std::optional<Stamps>& stamps, const std::string& message) {
  // Retried at every check until the stamps change to a loadable pair, but
  // logged and counted once per state on disk.
  if (failure_logged_ && failed_ == stamps) return;
  failure_logged_ = true;
  failed_ = stamps;
  failures_.fetch_add(1, std::memory_order_relaxed);
  spdlog::error("TLS certificate reload failed, {}: {}",
                ctx_.load(std::memory_order_acquire) ? "still serving the previous one" : "nothing to serve", message);
}

Result<std::shared_ptr<SSL_CTX>> make_front_context(CertificateReloader& reloader) {
  ERR_clear_error();
  auto ctx = new_server_ctx();
  if (!ctx) return ctx;
  SSL_CTX_set_client_hello_cb(ctx->get(), on_client_hello, &reloader);
  // Idle sessions are most sessions: give their 2 x ~17 KiB record buffers
  // back between records. SSL_new copies the mode, so every connection has it.
  SSL_CTX_set_mode(ctx->get(), SSL_MODE_RELEASE_BUFFERS);
  return ctx;
}

}  // namespace scsipub::net
