#include "dtlsgate/cookie/cookie_batch.h"

#include <cstring>

namespace dtlsgate {

bool CookieBatch::mint(const CookieWireInput& in, uint8_t* out) {
  if (jobs_ == kMaxJobs) return false;
  const std::size_t j = jobs_++;
  Job& job = job_[j];
  const CookieKey& key = keys_.keys[0];
  job.check = -1;
  out[0] = key.id;
  cmac_[j] = CmacJob{job.input, encode_cookie_input(in, key.id, job.input), out + 1};
  key_[j] = 0;
  return true;
}

int CookieBatch::verify(const CookieWireInput& in, const uint8_t* cookie, std::size_t cookie_len) {
  if (checks_used_ == kMaxBurst) return -1;
  const int handle = static_cast<int>(checks_used_++);
  CookieCheck& check = checks_[static_cast<std::size_t>(handle)];
  if (cookie_len != kCookieLen) {
    check = CookieCheck::kBad;
    return handle;
  }
  check = CookieCheck::kExpired;  // until a key with the cookie's id is found
  const Job* first = nullptr;
  std::size_t first_len = 0;
  for (std::size_t k = 0; k < keys_.count && k < keys_.keys.size(); ++k) {
    if (keys_.keys[k].id != cookie[0]) continue;
    if (jobs_ == kMaxJobs) {
      check = CookieCheck::kBad;  // cannot happen within kMaxBurst hellos; fail closed
      return handle;
    }
    const std::size_t j = jobs_++;
    Job& job = job_[j];
    if (first == nullptr) {
      first_len = encode_cookie_input(in, cookie[0], job.input);
      first = &job;
    } else {
      std::memcpy(job.input, first->input, first_len);
    }
    job.check = handle;
    job.expected_tag = cookie + 1;
    cmac_[j] = CmacJob{job.input, first_len, job.tag};
    key_[j] = static_cast<uint8_t>(k);
    only_first_key_ &= k == 0;
    any_verify_ = true;
    check = CookieCheck::kBad;  // until a tag matches
  }
  return handle;
}

void CookieBatch::run() {
  if (only_first_key_) {
    if (jobs_ != 0) keys_.keys[0].mac.compute_batch(cmac_.data(), jobs_);
  } else {
    // Around a rotation or reload: one batch per key.
    CmacJob grouped[kMaxJobs];  // NOLINT: filled before use
    for (std::size_t k = 0; k < keys_.count && k < keys_.keys.size(); ++k) {
      std::size_t n = 0;
      for (std::size_t j = 0; j < jobs_; ++j) {
        if (key_[j] == k) grouped[n++] = cmac_[j];
      }
      if (n != 0) keys_.keys[k].mac.compute_batch(grouped, n);
    }
  }
  if (any_verify_) {
    for (std::size_t j = 0; j < jobs_; ++j) {
      const Job& job = job_[j];
      if (job.check < 0) continue;
      if (cookie_tags_equal(job.tag, job.expected_tag)) {
        checks_[static_cast<std::size_t>(job.check)] = CookieCheck::kValid;
      }
    }
  }
  jobs_ = 0;
  only_first_key_ = true;
  any_verify_ = false;
}

}  // namespace dtlsgate
