#include "dtlsgate/cookie/cookie_batch.h"

#include <cstring>

namespace dtlsgate {

bool CookieBatch::mint(const CookieInput& in, uint8_t* out) {
  if (jobs_ == kMaxJobs) return false;
  Job& job = job_[jobs_++];
  const CookieKey& key = keys_.keys[0];
  job.input_len = static_cast<uint8_t>(encode_cookie_input(in, key.id, job.input));
  job.key = 0;
  job.check = -1;
  job.expected_tag = nullptr;
  out[0] = key.id;
  job.out_tag = out + 1;
  return true;
}

int CookieBatch::verify(const CookieInput& in, const uint8_t* cookie, std::size_t cookie_len) {
  if (checks_used_ == kMaxBurst) return -1;
  const int handle = static_cast<int>(checks_used_++);
  CookieCheck& check = checks_[static_cast<std::size_t>(handle)];
  if (cookie_len != kCookieLen) {
    check = CookieCheck::kBad;
    return handle;
  }
  check = CookieCheck::kExpired;  // until a key with the cookie's id is found
  const Job* first = nullptr;
  for (std::size_t k = 0; k < keys_.count && k < keys_.keys.size(); ++k) {
    if (keys_.keys[k].id != cookie[0]) continue;
    if (jobs_ == kMaxJobs) {
      check = CookieCheck::kBad;  // cannot happen within kMaxBurst hellos; fail closed
      return handle;
    }
    Job& job = job_[jobs_++];
    if (first == nullptr) {
      job.input_len = static_cast<uint8_t>(encode_cookie_input(in, cookie[0], job.input));
      first = &job;
    } else {
      std::memcpy(job.input, first->input, first->input_len);
      job.input_len = first->input_len;
    }
    job.key = static_cast<uint8_t>(k);
    job.check = handle;
    job.expected_tag = cookie + 1;
    job.out_tag = nullptr;
    check = CookieCheck::kBad;  // until a tag matches
  }
  return handle;
}

void CookieBatch::run() {
  // Group by key: all mints and nearly all verifies use keys[0], so this is one batch call in
  // the common case and two around a rotation.
  CmacJob cmac[kMaxJobs];  // NOLINT: filled before use; zeroing it would cost ~70 instr/pkt
  for (std::size_t k = 0; k < keys_.count && k < keys_.keys.size(); ++k) {
    std::size_t n = 0;
    for (std::size_t j = 0; j < jobs_; ++j) {
      Job& job = job_[j];
      if (job.key != k) continue;
      cmac[n++] = CmacJob{job.input, job.input_len, job.out_tag != nullptr ? job.out_tag : job.tag};
    }
    if (n != 0) keys_.keys[k].mac.compute_batch(cmac, n);
  }
  for (std::size_t j = 0; j < jobs_; ++j) {
    const Job& job = job_[j];
    if (job.check < 0) continue;
    if (cookie_tags_equal(job.tag, job.expected_tag)) {
      checks_[static_cast<std::size_t>(job.check)] = CookieCheck::kValid;
    }
  }
  jobs_ = 0;
}

}  // namespace dtlsgate
