#include "net/tls_certificates.h"

#include "net/test_certificates.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace scsipub::net {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

using testing::make_pem;
using testing::Pem;

void write_file(const fs::path& p, const std::string& data) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << data;
}

// Rewrites in place and moves mtime forward, so the change shows even when the
// size is unchanged and the filesystem clock has not ticked since the last write.
void rewrite(const fs::path& p, const std::string& data) {
  auto before = fs::exists(p) ? fs::last_write_time(p) : fs::file_time_type::clock::now();
  write_file(p, data);
  fs::last_write_time(p, before + 5s);
}

// Written aside and renamed over: what lego and Caddy do.
void rename_over(const fs::path& p, const std::string& data) {
  fs::path tmp = p;
  tmp += ".tmp";
  write_file(tmp, data);
  fs::rename(tmp, p);
}

std::string subject_cn(X509* x) {
  char buf[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf, sizeof buf);
  return buf;
}

struct Handshake {
  bool ok = false;
  std::string server_cn;  // CN of the certificate the server presented
  int version = 0;
  unsigned long server_error = 0;  // first OpenSSL error on the server side
};

// A real TLS handshake in memory: client and server SSLs joined by a BIO pair.
// The client verifies nothing; `client_version` pins its protocol version.
Handshake handshake(SSL_CTX* server_ctx, int client_version = 0) {
  ERR_clear_error();
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> cctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  SSL_CTX_set_verify(cctx.get(), SSL_VERIFY_NONE, nullptr);
  if (client_version != 0) {
    // Security level 0 lets this client really offer TLS 1.0/1.1, so a refusal
    // below comes from the server's policy and not from the client's own.
    SSL_CTX_set_security_level(cctx.get(), 0);
    SSL_CTX_set_cipher_list(cctx.get(), "DEFAULT:@SECLEVEL=0");
    SSL_CTX_set_min_proto_version(cctx.get(), client_version);
    SSL_CTX_set_max_proto_version(cctx.get(), client_version);
  }
  std::unique_ptr<SSL, decltype(&SSL_free)> client(SSL_new(cctx.get()), SSL_free);
  std::unique_ptr<SSL, decltype(&SSL_free)> server(SSL_new(server_ctx), SSL_free);
  BIO* cbio = nullptr;
  BIO* sbio = nullptr;
  EXPECT_EQ(BIO_new_bio_pair(&cbio, 0, &sbio, 0), 1);
  SSL_set_bio(client.get(), cbio, cbio);
  SSL_set_bio(server.get(), sbio, sbio);
  SSL_set_connect_state(client.get());
  SSL_set_accept_state(server.get());

  Handshake h;
  bool client_done = false;
  bool server_done = false;
  for (int i = 0; i < 100 && !(client_done && server_done); ++i) {
    if (!client_done) {
      int rc = SSL_do_handshake(client.get());
      if (rc == 1) {
        client_done = true;
      } else {
        int e = SSL_get_error(client.get(), rc);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) break;
      }
    }
    if (!server_done) {
      int rc = SSL_do_handshake(server.get());
      if (rc == 1) {
        server_done = true;
      } else {
        int e = SSL_get_error(server.get(), rc);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
          h.server_error = ERR_peek_error();
          break;
        }
      }
    }
  }
  h.ok = client_done && server_done;
  if (h.ok) {
    std::unique_ptr<X509, decltype(&X509_free)> peer(SSL_get1_peer_certificate(client.get()), X509_free);
    if (peer) h.server_cn = subject_cn(peer.get());
    h.version = SSL_version(client.get());
  }
  ERR_clear_error();
  return h;
}

class TlsCertificatesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "scsipub-tls-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    files_ = {dir_ / "cert.pem", dir_ / "key.pem"};
  }
  void TearDown() override { fs::remove_all(dir_); }

  void install(const Pem& pem) {
    rewrite(files_.cert, pem.cert);
    rewrite(files_.key, pem.key);
  }

  // A reloader on a fake clock, counting the stat calls it makes.
  std::unique_ptr<CertificateReloader> reloader(const TlsFiles& files) {
    return std::make_unique<CertificateReloader>(
        files, 60s, [this] { return now_; },
        [this](const TlsFiles& f) {
          ++stats_;
          return CertificateReloader::stat_files(f);
        });
  }
  std::unique_ptr<CertificateReloader> reloader() { return reloader(files_); }

  // The CN the server presents for a handshake through `ctx`.
  static std::string served_cn(const std::shared_ptr<SSL_CTX>& ctx) {
    EXPECT_TRUE(ctx);
    if (!ctx) return {};
    Handshake h = handshake(ctx.get());
    EXPECT_TRUE(h.ok);
    return h.server_cn;
  }

  fs::path dir_;
  TlsFiles files_;
  std::chrono::steady_clock::time_point now_ = std::chrono::steady_clock::time_point{} + 1000h;
  int stats_ = 0;
};

TEST_F(TlsCertificatesTest, InitialLoadServesTheCertificate) {
  install(make_pem("gen1", 1));
  auto r = reloader();
  ASSERT_TRUE(r->load_initial().ok());
  EXPECT_EQ(served_cn(r->current()), "gen1");
  EXPECT_EQ(r->reloads(), 0u);
  EXPECT_EQ(r->failures(), 0u);
}

TEST_F(TlsCertificatesTest, MissingFilesFailWithTheirNames) {
  auto r = reloader();
  auto st = r->load_initial();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("cert.pem"), std::string::npos) << st.error().message;
  EXPECT_EQ(r->current(), nullptr);

  auto direct = make_server_context(files_);
  ASSERT_FALSE(direct.ok());
  EXPECT_NE(direct.error().message.find("cert.pem"), std::string::npos) << direct.error().message;
}

TEST_F(TlsCertificatesTest, GarbageFails) {
  write_file(files_.cert, "not a certificate\n");
  write_file(files_.key, make_pem("gen1", 1).key);
  auto st = reloader()->load_initial();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("TLS certificate"), std::string::npos) << st.error().message;

  write_file(files_.cert, make_pem("gen1", 1).cert);
  write_file(files_.key, "-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n");
  st = reloader()->load_initial();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("TLS key"), std::string::npos) << st.error().message;
}

TEST_F(TlsCertificatesTest, MismatchedKeyFails) {
  write_file(files_.cert, make_pem("gen1", 1).cert);
  write_file(files_.key, make_pem("other", 2).key);
  auto st = reloader()->load_initial();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("does not match"), std::string::npos) << st.error().message;
}

TEST_F(TlsCertificatesTest, NoStatWithinTheCooldown) {
  install(make_pem("gen1", 1));
  auto r = reloader();
  ASSERT_TRUE(r->load_initial().ok());
  const int after_load = stats_;
  install(make_pem("gen2", 2));  // changed on disk, but not looked at yet
  for (int i = 0; i < 10; ++i) {
    now_ += 5s;  // up to 50 s
    EXPECT_EQ(served_cn(r->current()), "gen1");
  }
  now_ += 9s;  // 59 s
  r->current();
  EXPECT_EQ(stats_, after_load);
  EXPECT_EQ(r->reloads(), 0u);
}

TEST_F(TlsCertificatesTest, UnchangedFilesAreNotReread) {
  install(make_pem("gen1", 1));
  auto r = reloader();
  ASSERT_TRUE(r->load_initial().ok());
  auto first = r->current();
  const int after_load = stats_;
  now_ += 61s;
  EXPECT_EQ(r->current(), first);  // the same context object: no rebuild
  EXPECT_EQ(stats_, after_load + 1);
  now_ += 30s;  // within the new cooldown
  EXPECT_EQ(r->current(), first);
  EXPECT_EQ(stats_, after_load + 1);
  EXPECT_EQ(r->reloads(), 0u);
}

TEST_F(TlsCertificatesTest, ChangedFilesAreReloadedAfterTheCooldown) {
  install(make_pem("gen1", 1));
  auto r = reloader();
  ASSERT_TRUE(r->load_initial().ok());
  install(make_pem("gen2", 2));
  now_ += 60s;
  EXPECT_EQ(served_cn(r->current()), "gen2");
  EXPECT_EQ(r->reloads(), 1u);

  // lego/Caddy style: new files renamed over the old names.
  Pem gen3 = make_pem("gen3", 3);
  rename_over(files_.cert, gen3.cert);
  rename_over(files_.key, gen3.key);
  now_ += 60s;
  EXPECT_EQ(served_cn(r->current()), "gen3");
  EXPECT_EQ(r->reloads(), 2u);
  EXPECT_EQ(r->failures(), 0u);
}

TEST_F(TlsCertificatesTest, HalfWrittenPairKeepsTheOldOneAndIsRetried) {
  install(make_pem("gen1", 1));
  auto r = reloader();
  ASSERT_TRUE(r->load_initial().ok());
  Pem gen2 = make_pem("gen2", 2);
  rewrite(files_.cert, gen2.cert);  // the key is not written yet
  now_ += 60s;
  EXPECT_EQ(served_cn(r->current()), "gen1");
  EXPECT_EQ(r->failures(), 1u);

  now_ += 60s;  // still broken: retried, but not counted or logged again
  EXPECT_EQ(served_cn(r->current()), "gen1");
  EXPECT_EQ(r->failures(), 1u);

  rewrite(files_.key, gen2.key);
  now_ += 30s;  // within the cooldown: not looked at
  EXPECT_EQ(served_cn(r->current()), "gen1");
  now_ += 30s;
  EXPECT_EQ(served_cn(r->current()), "gen2");
  EXPECT_EQ(r->reloads(), 1u);
  EXPECT_EQ(r->failures(), 1u);
}

TEST_F(TlsCertificatesTest, TruncatedCertificateKeepsTheOldOne) {
  install(make_pem("gen1", 1));
  auto r = reloader();
  ASSERT_TRUE(r->load_initial().ok());
  Pem gen2 = make_pem("gen2", 2);
  rewrite(files_.cert, gen2.cert.substr(0, gen2.cert.size() / 2));
  now_ += 60s;
  EXPECT_EQ(served_cn(r->current()), "gen1");
  EXPECT_EQ(r->failures(), 1u);
  rewrite(files_.cert, gen2.cert);
  rewrite(files_.key, gen2.key);
  now_ += 60s;
  EXPECT_EQ(served_cn(r->current()), "gen2");
}

TEST_F(TlsCertificatesTest, MissingFileDuringRotationKeepsTheOldOne) {
  install(make_pem("gen1", 1));
  auto r = reloader();
  ASSERT_TRUE(r->load_initial().ok());
  fs::remove(files_.key);
  now_ += 60s;
  EXPECT_EQ(served_cn(r->current()), "gen1");
  EXPECT_EQ(r->failures(), 1u);
  now_ += 60s;
  r->current();
  EXPECT_EQ(r->failures(), 1u);
}

TEST_F(TlsCertificatesTest, CertbotSymlinkSwapIsDetected) {
  fs::create_directories(dir_ / "archive");
  fs::create_directories(dir_ / "live");
  Pem gen1 = make_pem("gen1", 1);
  write_file(dir_ / "archive" / "cert1.pem", gen1.cert);
  write_file(dir_ / "archive" / "privkey1.pem", gen1.key);
  fs::create_symlink("../archive/cert1.pem", dir_ / "live" / "cert.pem");
  fs::create_symlink("../archive/privkey1.pem", dir_ / "live" / "privkey.pem");
  TlsFiles live{dir_ / "live" / "cert.pem", dir_ / "live" / "privkey.pem"};
  auto r = reloader(live);
  ASSERT_TRUE(r->load_initial().ok());
  EXPECT_EQ(served_cn(r->current()), "gen1");

  Pem gen2 = make_pem("gen2", 2);
  write_file(dir_ / "archive" / "cert2.pem", gen2.cert);
  write_file(dir_ / "archive" / "privkey2.pem", gen2.key);
  // Each link replaced atomically: a new link renamed over the old one.
  fs::create_symlink("../archive/cert2.pem", dir_ / "live" / "cert.pem.new");
  fs::rename(dir_ / "live" / "cert.pem.new", dir_ / "live" / "cert.pem");
  fs::create_symlink("../archive/privkey2.pem", dir_ / "live" / "privkey.pem.new");
  fs::rename(dir_ / "live" / "privkey.pem.new", dir_ / "live" / "privkey.pem");
  now_ += 60s;
  EXPECT_EQ(served_cn(r->current()), "gen2");
  EXPECT_EQ(r->reloads(), 1u);
}

TEST_F(TlsCertificatesTest, FrontContextSwitchesToTheReloadedCertificate) {
  install(make_pem("gen1", 1));
  auto r = reloader();
  ASSERT_TRUE(r->load_initial().ok());
  auto front = make_front_context(*r);
  ASSERT_TRUE(front.ok()) << front.error().message;

  Handshake h = handshake(front->get());
  ASSERT_TRUE(h.ok);
  EXPECT_EQ(h.server_cn, "gen1");

  install(make_pem("gen2", 2));
  now_ += 59s;  // within the cooldown: still the old certificate
  h = handshake(front->get());
  ASSERT_TRUE(h.ok);
  EXPECT_EQ(h.server_cn, "gen1");

  now_ += 1s;
  h = handshake(front->get());
  ASSERT_TRUE(h.ok);
  EXPECT_EQ(h.server_cn, "gen2");
  EXPECT_EQ(r->reloads(), 1u);
}

TEST_F(TlsCertificatesTest, FrontContextWithNothingLoadedRefusesTheHandshake) {
  auto r = reloader();  // files missing, never loaded
  auto front = make_front_context(*r);
  ASSERT_TRUE(front.ok());
  EXPECT_FALSE(handshake(front->get()).ok);
}

TEST_F(TlsCertificatesTest, ProtocolVersions) {
  install(make_pem("gen1", 1));
  auto r = reloader();
  ASSERT_TRUE(r->load_initial().ok());
  auto front = make_front_context(*r);
  ASSERT_TRUE(front.ok());
  for (SSL_CTX* server : {r->current().get(), front->get()}) {
    Handshake v12 = handshake(server, TLS1_2_VERSION);
    EXPECT_TRUE(v12.ok);
    EXPECT_EQ(v12.version, TLS1_2_VERSION);
    Handshake v13 = handshake(server, TLS1_3_VERSION);
    EXPECT_TRUE(v13.ok);
    EXPECT_EQ(v13.version, TLS1_3_VERSION);
    for (int old : {TLS1_1_VERSION, TLS1_VERSION}) {
      Handshake h = handshake(server, old);
      EXPECT_FALSE(h.ok);
      EXPECT_EQ(ERR_GET_REASON(h.server_error), SSL_R_UNSUPPORTED_PROTOCOL)
          << ERR_reason_error_string(h.server_error);
    }
  }
}

TEST_F(TlsCertificatesTest, ConcurrentHandshakesDuringRotation) {
  // Real clock and stat, no cooldown: every call checks, so the threads race
  // on the check and on the context swap while files rotate under them.
  install(make_pem("gen0", 100));
  CertificateReloader r(files_, 0s);
  ASSERT_TRUE(r.load_initial().ok());
  std::atomic<bool> stop{false};
  std::atomic<int> null_seen{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      while (!stop.load()) {
        if (!r.current()) ++null_seen;
      }
    });
  }
  for (int gen = 1; gen <= 5; ++gen) {
    Pem pem = make_pem("gen" + std::to_string(gen), 100 + gen);
    rename_over(files_.cert, pem.cert);
    rename_over(files_.key, pem.key);
    std::this_thread::sleep_for(10ms);
  }
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(null_seen.load(), 0);
  EXPECT_EQ(served_cn(r.current()), "gen5");
  EXPECT_GE(r.reloads(), 1u);
}

}  // namespace
}  // namespace scsipub::net
