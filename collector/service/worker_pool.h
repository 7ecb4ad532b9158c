// A fixed pool of threads for the work that must not run on gRPC callback
// threads: evaluation, synced RocksDB writes, audit writes, store scans and
// fleet builds. See the threading model in collector_state.h.
#ifndef PREFLIGHT_COLLECTOR_SERVICE_WORKER_POOL_H_
#define PREFLIGHT_COLLECTOR_SERVICE_WORKER_POOL_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace preflight::collector {

class WorkerPool {
 public:
  explicit WorkerPool(int threads);
  // Runs every queued task (and every task those post), then joins.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `task`; tasks run in the order posted, each on one of the pool's
  // threads. Any thread may post, the pool's own included. Never blocks on a
  // running task.
  void Post(std::function<void()> task) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Loop() ABSL_LOCKS_EXCLUDED(mu_);
  bool Ready() const ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stopping_ || !tasks_.empty(); }

  absl::Mutex mu_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;  // set in the constructor, joined in the destructor
};

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_SERVICE_WORKER_POOL_H_
