#include "storage/rbd_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <memory>
#include <vector>

#include "storage/rbd_backup.h"

namespace scsipub::storage {
namespace {

// Breaks every exclusive lock on the image held by a client other than
// `self` (librbd blocklists the holder as it breaks the lock).
Status break_foreign_locks(rbd_image_t image, const std::string& self, const std::string& name) {
  rbd_lock_mode_t mode{};
  std::vector<char*> owners(4, nullptr);
  size_t count = owners.size();
  int rc = rbd_lock_get_owners(image, &mode, owners.data(), &count);
  if (rc == -ENOENT) return ok_status();  // nobody holds it any more
  if (rc < 0) return fail(rbd_error(fmt::format("{}: lock owners", name), rc));
  Status result = ok_status();
  for (size_t i = 0; i < count && result; ++i) {
    std::string owner(owners[i]);
    // The owner is named by its client address, which is what a blocklist fences.
    if (owner == self) {
      result = fail(fmt::format("{}: the lock is held by this client already", name));
      break;
    }
    rc = rbd_lock_break(image, RBD_LOCK_MODE_EXCLUSIVE, owners[i]);
    if (rc < 0 && rc != -ENOENT) result = fail(rbd_error(fmt::format("{}: breaking the lock of {}", name, owner), rc));
  }
  rbd_lock_get_owners_cleanup(owners.data(), count);
  return result;
}

IoStatus io_status(ssize_t rc) { return rc < 0 ? IoStatus::io_error : IoStatus::ok; }

}  // namespace

Result<std::unique_ptr<RbdStore>> RbdStore::open(std::shared_ptr<RbdCluster> cluster, const std::string& name,
                                                 RbdOpenOptions options) {
  rbd_image_t image = nullptr;
  int rc = rbd_open(cluster->ioctx(), name.c_str(), &image, nullptr);
  if (rc < 0) return fail(rbd_error(fmt::format("opening {}", name), rc));
  auto give_up = [&](std::string message) {
    rbd_close(image);
    return fail(std::move(message));
  };
  uint64_t size = 0;
  rc = rbd_get_size(image, &size);
  if (rc < 0) return give_up(rbd_error(fmt::format("size of {}", name), rc));
  if (size % kBlockSize != 0) return give_up(fmt::format("{}: size {} is not whole 512-byte blocks", name, size));
  // A rightful new owner breaks a foreign lock before asking for it: asking
  // a dead owner first would wait for its watch to time out (30 s).
  if (options.take_over) {
    if (Status s = break_foreign_locks(image, cluster->client_address(), name); !s) return give_up(s.error().message);
  }
  // Taking the lock explicitly also turns off librbd's cooperative handover:
  // a later request from another client is refused instead of granted.
  rc = rbd_lock_acquire(image, RBD_LOCK_MODE_EXCLUSIVE);
  if (rc < 0) return give_up(rbd_error(fmt::format("{}: taking the exclusive lock", name), rc));
  // Measured under the lock: nobody else adds objects from here on.
  auto allocation = RbdAllocation::measure(image, name, options.write_limit);
  if (!allocation.ok()) return give_up(allocation.error().message);
  return std::unique_ptr<RbdStore>(
      new RbdStore(std::move(cluster), image, name, size / kBlockSize, std::move(allocation).value()));
}

RbdStore::~RbdStore() {
  rbd_flush(image_);
  rbd_lock_release(image_);
  rbd_close(image_);
}

IoStatus RbdStore::read(uint64_t lba, std::span<uint8_t> out) {
  const uint64_t blocks = out.size() / kBlockSize;
  if (!in_range(lba, blocks)) return IoStatus::out_of_range;
  ssize_t rc = rbd_read(image_, lba * kBlockSize, out.size(), reinterpret_cast<char*>(out.data()));
  if (rc >= 0 && static_cast<size_t>(rc) != out.size()) return IoStatus::io_error;
  return io_status(rc);
}

IoStatus RbdStore::write(uint64_t lba, std::span<const uint8_t> in) {
  const uint64_t blocks = in.size() / kBlockSize;
  if (!in_range(lba, blocks)) return IoStatus::out_of_range;
  if (IoStatus s = allocation_->admit_write(lba * kBlockSize, in.size()); s != IoStatus::ok) return s;
  ssize_t rc = rbd_write(image_, lba * kBlockSize, in.size(), reinterpret_cast<const char*>(in.data()));
  if (rc >= 0 && static_cast<size_t>(rc) != in.size()) return IoStatus::io_error;
  return io_status(rc);
}

IoStatus RbdStore::unmap(uint64_t lba, uint64_t blocks) {
  if (!in_range(lba, blocks)) return IoStatus::out_of_range;
  // write_zeroes, not discard: librbd skips the partial-object parts of a
  // discard (rbd_skip_partial_discard), which would break the zeros promised
  // by LBPRZ; write_zeroes deallocates whole objects and zeroes the rest.
  const uint64_t max_chunk = 1ull << 30;  // the C API takes a size_t; keep each call bounded
  for (uint64_t done = 0; done < blocks;) {
    const uint64_t n = std::min<uint64_t>(blocks - done, max_chunk / kBlockSize);
    ssize_t rc = rbd_write_zeroes(image_, (lba + done) * kBlockSize, n * kBlockSize, 0, 0);
    if (rc < 0) return IoStatus::io_error;
    done += n;
  }
  allocation_->note_unmap(lba * kBlockSize, blocks * kBlockSize);
  return IoStatus::ok;
}

IoStatus RbdStore::flush() { return io_status(rbd_flush(image_)); }

namespace {

// One asynchronous verb in flight: owned by its librbd completion (the
// callback frees it), so nothing outlives the verb.
struct AioOp {
  IoDone done;
  rbd_image_t image;
  size_t expect;     // bytes a read must return; 0: any non-negative result
  bool flush_after;  // a write to make durable before `done`
};

void finish_aio(rbd_completion_t c, void* arg);

// Queues `op`'s verb; on a queueing failure (the callback will never run)
// reports io_error at once.
void start_aio(std::unique_ptr<AioOp> op, const std::function<int(rbd_completion_t)>& verb) {
  rbd_completion_t c = nullptr;
  if (rbd_aio_create_completion(op.get(), finish_aio, &c) < 0) return op->done(IoStatus::io_error);
  if (int rc = verb(c); rc < 0) {
    rbd_aio_release(c);
    return op->done(IoStatus::io_error);
  }
  (void)op.release();  // finish_aio owns it now
}

// On a librbd callback thread: a write with flush_after goes on to an
// asynchronous flush (librbd completes a flush only after the writes queued
// before it), everything else reports.
void finish_aio(rbd_completion_t c, void* arg) {
  std::unique_ptr<AioOp> op(static_cast<AioOp*>(arg));
  const ssize_t rc = rbd_aio_get_return_value(c);
  rbd_aio_release(c);
  const bool ok = rc >= 0 && (op->expect == 0 || static_cast<size_t>(rc) == op->expect);
  if (!ok || !op->flush_after) return op->done(ok ? IoStatus::ok : IoStatus::io_error);
  op->flush_after = false;
  op->expect = 0;
  rbd_image_t image = op->image;
  start_aio(std::move(op), [image](rbd_completion_t f) { return rbd_aio_flush(image, f); });
}

}  // namespace

void RbdStore::read_async(uint64_t lba, std::span<uint8_t> out, IoDone done) {
  if (!in_range(lba, out.size() / kBlockSize)) return done(IoStatus::out_of_range);
  auto op = std::make_unique<AioOp>(AioOp{std::move(done), image_, out.size(), false});
  start_aio(std::move(op), [this, lba, out](rbd_completion_t c) {
    return rbd_aio_read(image_, lba * kBlockSize, out.size(), reinterpret_cast<char*>(out.data()), c);
  });
}

void RbdStore::write_async(uint64_t lba, std::span<const uint8_t> in, bool flush_after, IoDone done) {
  if (!in_range(lba, in.size() / kBlockSize)) return done(IoStatus::out_of_range);
  if (IoStatus s = allocation_->admit_write(lba * kBlockSize, in.size()); s != IoStatus::ok) return done(s);
  auto op = std::make_unique<AioOp>(AioOp{std::move(done), image_, 0, flush_after});
  start_aio(std::move(op), [this, lba, in](rbd_completion_t c) {
    return rbd_aio_write(image_, lba * kBlockSize, in.size(), reinterpret_cast<const char*>(in.data()), c);
  });
}

LbaRun RbdStore::lba_status(uint64_t lba) const {
  if (lba >= blocks_) return {true, 0};
  return {true, blocks_ - lba};
}

bool RbdStore::holds_lock() const {
  int owner = 0;
  return rbd_is_exclusive_lock_owner(image_, &owner) == 0 && owner != 0;
}

namespace {

int no_progress_report(uint64_t /*done*/, uint64_t /*total*/, void* /*arg*/) { return 0; }

}  // namespace

Result<std::chrono::microseconds> RbdStore::create_snapshot(const std::string& snap) {
  if (!rbd_backup_snapshot_name_ok(snap)) {
    return fail(fmt::format("{}: '{}' is not a backup snapshot name", name_, snap));
  }
  const auto start = std::chrono::steady_clock::now();
  if (int rc = rbd_flush(image_); rc < 0) return fail(rbd_error(fmt::format("{}: flush before snapshot", name_), rc));
  // No quiesce round: that notifies other clients of the image (rbd-nbd's
  // fsfreeze hooks); scsipub's initiators are not among them, and librbd's
  // own write block is what makes the snapshot consistent.
  int rc = rbd_snap_create2(image_, snap.c_str(), RBD_SNAP_CREATE_SKIP_QUIESCE, no_progress_report, nullptr);
  if (rc < 0) return fail(rbd_error(fmt::format("{}: creating snapshot {}", name_, snap), rc));
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
}

Status RbdStore::remove_snapshot(const std::string& snap) {
  if (!rbd_backup_snapshot_name_ok(snap)) {
    return fail(fmt::format("{}: '{}' is not a backup snapshot name", name_, snap));
  }
  int rc = rbd_snap_remove(image_, snap.c_str());
  if (rc < 0) return fail(rbd_error(fmt::format("{}: removing snapshot {}", name_, snap), rc));
  return ok_status();
}

Result<std::vector<std::string>> RbdStore::snapshots() const { return rbd_snapshot_names(image_, name_); }

}  // namespace scsipub::storage
