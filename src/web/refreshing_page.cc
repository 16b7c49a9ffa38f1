#include "web/refreshing_page.h"

#include <spdlog/spdlog.h>

#include <exception>
#include <utility>

namespace scsipub::web {

RefreshingPage::RefreshingPage(std::function<std::string()> render, CachedPageOptions options,
                               Clock::duration max_age, std::function<Clock::time_point()> now)
    : render_(std::move(render)), options_(std::move(options)), max_age_(max_age), now_(std::move(now)) {}

std::shared_ptr<const CachedPage> RefreshingPage::current() {
  std::lock_guard lock(mu_);
  const auto now = now_();
  if (page_ && now - rendered_at_ < max_age_) return page_;
  // Whatever happens below, the next attempt is max_age away: a failing
  // render is not retried by every request.
  rendered_at_ = now;
  ++renders_;
  std::string fresh;
  try {
    fresh = render_();
  } catch (const std::exception& e) {
    if (!page_) throw;
    spdlog::warn("page rendering failed, serving the previous one: {}", e.what());
    return page_;
  }
  if (!page_ || fresh != page_->body()) {
    page_ = std::make_shared<const CachedPage>(std::move(fresh), options_);
    ++changes_;
  }
  return page_;
}

size_t RefreshingPage::renders() const {
  std::lock_guard lock(mu_);
  return renders_;
}

size_t RefreshingPage::changes() const {
  std::lock_guard lock(mu_);
  return changes_;
}

}  // namespace scsipub::web
