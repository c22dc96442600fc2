#include "dtlsgate/cookie/cookie_batch.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>

namespace dtlsgate {

static_assert(std::tuple_size_v<decltype(CookieKeySet::keys)> <= 8, "key ids: one 64-bit word");

CookieBatch::CookieBatch(const CookieKeySet& keys) : keys_(keys) {  // NOLINT(*-member-init)
  const std::size_t count = std::min<std::size_t>(keys.count, keys.keys.size());
  for (std::size_t k = 0; k < count; ++k) {
    key_ids_ |= static_cast<uint64_t>(keys.keys[k].id) << (8 * k);
    key_slots_ |= 1U << k;
  }
}

uint32_t CookieBatch::keys_with_id(uint8_t id) const {
  // One byte compare over all the ids (~6 instructions; the loop over the keys it replaced
  // took ~43 per verification with three keys, tools/callgrind-parts).
  const __m128i ids = _mm_cvtsi64_si128(static_cast<long long>(key_ids_));
  const __m128i same = _mm_cmpeq_epi8(ids, _mm_set1_epi8(static_cast<char>(id)));
  return static_cast<uint32_t>(_mm_movemask_epi8(same)) & key_slots_;
}

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
  const uint32_t keys = keys_with_id(cookie[0]);
  if (keys == 0) {
    check = CookieCheck::kExpired;  // no key carries the cookie's id
    return handle;
  }
  // The first key of that id inline, any other (only after a master-secret reload) out of
  // line: as a loop over the keys, the job's bookkeeping made GCC save and restore six
  // registers around it per verification (~16 instructions).
  if (jobs_ == kMaxJobs) {
    check = CookieCheck::kBad;  // cannot happen within kMaxBurst hellos; fail closed
    return handle;
  }
  const std::size_t j =
      queue_verification(handle, cookie, static_cast<std::size_t>(__builtin_ctz(keys)));
  cmac_[j].len = encode_cookie_input(in, cookie[0], job_[j].input);
  check = CookieCheck::kBad;  // until a tag matches
  if ((keys & (keys - 1)) != 0) [[unlikely]] {
    queue_more_keys(keys & (keys - 1), j, handle, cookie);
  }
  return handle;
}

std::size_t CookieBatch::queue_verification(int handle, const uint8_t* cookie, std::size_t key) {
  const std::size_t j = jobs_++;
  Job& job = job_[j];
  job.check = handle;
  job.expected_tag = cookie + 1;
  cmac_[j] = CmacJob{job.input, 0, job.tag};
  key_[j] = static_cast<uint8_t>(key);
  only_first_key_ &= key == 0;
  any_verify_ = true;
  return j;
}

void CookieBatch::queue_more_keys(uint32_t keys, std::size_t first, int handle,
                                  const uint8_t* cookie) {
  for (; keys != 0; keys &= keys - 1) {
    // Cannot happen within kMaxBurst hellos. The check is already kBad (verify set it); the
    // keys queued so far still decide, as they would have in one loop over the keys.
    if (jobs_ == kMaxJobs) return;
    const std::size_t j =
        queue_verification(handle, cookie, static_cast<std::size_t>(__builtin_ctz(keys)));
    std::memcpy(job_[j].input, job_[first].input, cmac_[first].len);
    cmac_[j].len = cmac_[first].len;
  }
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
