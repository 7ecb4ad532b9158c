// A fixed pool of threads for work that must not run on gRPC threads
// (evaluation, synced RocksDB writes).
#ifndef PREFLIGHT_COLLECTOR_SERVICE_WORKER_POOL_H_
#define PREFLIGHT_COLLECTOR_SERVICE_WORKER_POOL_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace preflight::collector {

class WorkerPool {
 public:
  explicit WorkerPool(int threads);
  // Runs every queued task, then joins.
  ~WorkerPool();
  void Post(std::function<void()> task);

 private:
  void Loop();
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_SERVICE_WORKER_POOL_H_
