// Cookies for a whole burst at once: the classifier queues every mint and verify of a burst,
// run() computes all the MACs with interleaved CMAC chains (Aes128Cmac::compute_batch), then
// the classifier reads the results. Same answers as mint_cookie/verify_cookie (tests compare),
// at a fraction of the per-packet cost: the MAC is most of the fast path's work.
//
// Fixed capacity, no allocation: the classifier feeds at most kMaxBurst hellos per run().
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "dtlsgate/cookie/cookie.h"

namespace dtlsgate {

class CookieBatch {
 public:
  static constexpr std::size_t kMaxBurst = 32;

  // job_ and checks_ are written before they are read; zeroing them would cost ~10 KB of
  // stores per burst.
  explicit CookieBatch(const CookieKeySet& keys);  // NOLINT(*-member-init)

  // Queues a mint; kCookieLen bytes are written to out by run(). Returns false when full.
  bool mint(const CookieWireInput& in, uint8_t* out);
  bool mint(const CookieInput& in, uint8_t* out) { return mint(CookieWireFields(in).wire(), out); }

  // Queues a verification; returns a handle for result(), or -1 when full. A cookie of the
  // wrong length or an unknown key id is decided at once (no MAC), like verify_cookie.
  int verify(const CookieWireInput& in, const uint8_t* cookie, std::size_t cookie_len);
  int verify(const CookieInput& in, const uint8_t* cookie, std::size_t cookie_len) {
    return verify(CookieWireFields(in).wire(), cookie, cookie_len);
  }

  // Out of line: once per burst, and inlined into the classifier's flattened burst loop it
  // brought its rotation-time array (2.2 KB) onto that loop's stack frame.
  [[gnu::noinline]] void run();

  CookieCheck result(int handle) const { return checks_[static_cast<std::size_t>(handle)]; }

  std::size_t pending() const { return jobs_; }

 private:
  // No member initializers: a burst's worth of jobs is ~8 KB that must not be zeroed per run.
  struct Job {
    alignas(16) uint8_t input[kMaxCookieInputLen];
    alignas(16) uint8_t tag[kCookieTagLen];  // verify: the computed tag
    const uint8_t* expected_tag;             // verify: the cookie's tag
    int check;                               // verify: index into checks_; mint: -1
  };

  // A verify with several keys of one id (only after a master-secret reload) queues one job
  // per key, so the job array is larger than the burst.
  static constexpr std::size_t kMaxJobs = kMaxBurst * 3;

  // The keys (bits, index into keys_.keys) whose id is the cookie's key id byte.
  uint32_t keys_with_id(uint8_t id) const;
  // A verification job for one key (its input and length still to be written); its index.
  std::size_t queue_verification(int handle, const uint8_t* cookie, std::size_t key);
  // The jobs for the other keys of the cookie's id (a copy of the first job's input each).
  [[gnu::noinline]] void queue_more_keys(uint32_t keys, std::size_t first, int handle,
                                         const uint8_t* cookie);

  const CookieKeySet& keys_;
  // keys_'s ids, key k in byte k, and which bytes hold a key: the lookup per verification is
  // one compare of them all instead of a loop over them.
  uint64_t key_ids_ = 0;
  uint32_t key_slots_ = 0;
  std::array<Job, kMaxJobs> job_;  // NOLINT(cppcoreguidelines-pro-type-member-init)
  // The MAC work of job j, in the form compute_batch takes, and its key (index into
  // keys_.keys): kept apart from job_ so that run() hands the whole array to one
  // compute_batch call when every job uses keys[0] (always, except around a rotation).
  std::array<CmacJob, kMaxJobs> cmac_;  // NOLINT(cppcoreguidelines-pro-type-member-init)
  std::array<uint8_t, kMaxJobs> key_;   // NOLINT(cppcoreguidelines-pro-type-member-init)
  std::size_t jobs_ = 0;
  bool only_first_key_ = true;
  bool any_verify_ = false;
  std::array<CookieCheck, kMaxBurst> checks_;  // NOLINT(cppcoreguidelines-pro-type-member-init)
  std::size_t checks_used_ = 0;
};

}  // namespace dtlsgate
