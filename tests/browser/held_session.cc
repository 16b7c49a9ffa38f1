// One libiscsi login held open for the browser tests (tests/browser/), so the
// dashboard has a real session to show, end, and watch disappear.
//
//   held_session URL INITIATOR_NAME [MAX_SECONDS]
//
// Logs in to URL (iscsi://host:port/iqn/lun) as INITIATOR_NAME (any text: the
// tests use names that carry markup), prints "logged-in", then every 200 ms
// sends TEST UNIT READY so it notices at once when the target ends the
// session. A line "logout" on stdin (or stdin closing) logs out.
// Exit status and last line:
//   0 "logged-out"          logged out on request
//   2 "login-failed: ..."
//   3 "session-ended: ..."  the target ended the session (a command failed)
//   4 "gave-up"             MAX_SECONDS (default 120) passed; logged out
// Reconnect is off (iscsi_client.h): a reconnect would be a new session, and
// the test must see the end of this one.
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "integration/iscsi_client.h"

namespace {

void say(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

// True when stdin has "logout" or has closed.
bool logout_requested() {
  pollfd p{STDIN_FILENO, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  char buf[256];
  const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
  if (n <= 0) return true;
  return std::string(buf, static_cast<size_t>(n)).find("logout") != std::string::npos;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4) {
    std::fprintf(stderr, "usage: %s URL INITIATOR_NAME [MAX_SECONDS]\n", argv[0]);
    return 64;
  }
  const int max_seconds = argc == 4 ? std::atoi(argv[3]) : 120;
  std::string err;
  auto session = integ::Session::login(argv[1], argv[2], 0x42, &err);
  if (!session) {
    say("login-failed: " + err);
    return 2;
  }
  say("logged-in blocks=" + std::to_string(session->blocks()));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(max_seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    ::usleep(200 * 1000);
    if (logout_requested()) {
      if (!session->logout(&err)) {
        say("session-ended: " + err);
        return 3;
      }
      say("logged-out");
      return 0;
    }
    scsi_task* t = iscsi_testunitready_sync(session->ctx(), session->lun());
    if (t == nullptr) {
      say(std::string("session-ended: TEST UNIT READY failed (") + iscsi_get_error(session->ctx()) + ")");
      // Nothing left to log out of: leave without the destructor's logout,
      // which would only wait on a dead connection.
      std::_Exit(3);
    }
    scsi_free_scsi_task(t);  // GOOD or a UNIT ATTENTION: the session is alive either way
  }
  session->logout(&err);
  say("gave-up");
  return 4;
}
