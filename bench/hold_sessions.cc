// Holds N idle iSCSI sessions open (libiscsi's async API on one thread),
// answering the target's NOP-In pings, so a benchmark can measure what live
// sessions cost elsewhere (the operator dashboard's feed, memory per session).
//
//   scsipub-hold-sessions URL N SECONDS [INITIATOR_PREFIX]
//
// Logs in N sessions to URL (iscsi://host:port/iqn/lun) one after another,
// each with its own InitiatorName (PREFIX:N), prints "held N" once all are
// in, keeps them for SECONDS, then logs them out and prints "done".
#include <iscsi/iscsi.h>
#include <poll.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

struct Held {
  iscsi_context* ctx = nullptr;
};

iscsi_context* login(const iscsi_url& url, const std::string& name) {
  iscsi_context* ctx = iscsi_create_context(name.c_str());
  if (ctx == nullptr) return nullptr;
  iscsi_set_targetname(ctx, url.target);
  iscsi_set_session_type(ctx, ISCSI_SESSION_NORMAL);
  iscsi_set_header_digest(ctx, ISCSI_HEADER_DIGEST_NONE);
  char portal[300];
  std::snprintf(portal, sizeof portal, "%s", url.portal);
  if (iscsi_full_connect_sync(ctx, portal, url.lun) != 0) {
    std::fprintf(stderr, "login %s: %s\n", name.c_str(), iscsi_get_error(ctx));
    iscsi_destroy_context(ctx);
    return nullptr;
  }
  return ctx;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4 || argc > 5) {
    std::fprintf(stderr, "usage: %s URL N SECONDS [INITIATOR_PREFIX]\n", argv[0]);
    return 64;
  }
  const int n = std::atoi(argv[2]);
  const int seconds = std::atoi(argv[3]);
  const std::string prefix = argc == 5 ? argv[4] : "iqn.2026-12.pub.scsipub.bench:hold";
  iscsi_context* probe = iscsi_create_context(prefix.c_str());
  iscsi_url* url = iscsi_parse_full_url(probe, argv[1]);
  if (url == nullptr) {
    std::fprintf(stderr, "bad URL: %s\n", iscsi_get_error(probe));
    return 64;
  }
  std::vector<iscsi_context*> held;
  for (int i = 0; i < n; ++i) {
    iscsi_context* ctx = login(*url, prefix + ":" + std::to_string(i));
    if (ctx == nullptr) break;
    held.push_back(ctx);
  }
  std::printf("held %zu\n", held.size());
  std::fflush(stdout);
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  std::vector<pollfd> fds(held.size());
  while (std::chrono::steady_clock::now() < end) {
    for (size_t i = 0; i < held.size(); ++i) {
      fds[i] = {iscsi_get_fd(held[i]), static_cast<short>(iscsi_which_events(held[i])), 0};
    }
    if (::poll(fds.data(), fds.size(), 500) < 0) break;
    for (size_t i = 0; i < held.size(); ++i) {
      if (fds[i].revents != 0 && iscsi_service(held[i], fds[i].revents) < 0) {
        std::fprintf(stderr, "session %zu: %s\n", i, iscsi_get_error(held[i]));
      }
    }
  }
  for (auto* ctx : held) {
    iscsi_logout_sync(ctx);
    iscsi_destroy_context(ctx);
  }
  iscsi_destroy_url(url);
  iscsi_destroy_context(probe);
  std::printf("done\n");
  return 0;
}
