// The control-plane side of cookies: derives a key per epoch from the master secret and
// publishes immutable CookieKeySet snapshots that workers read without locks.
//
// key_e = HKDF-SHA256(master, info = "dtlsgate cookie v1" | be64(e)), 16 bytes, epoch
// e = unix_seconds / rotation. The published set holds e (mints), e-1 and e+1 (for peers
// whose clocks run ahead by less than a rotation). Derivation goes
// through OpenSSL's HKDF once per epoch, never per packet.
//
// Publication: one atomic pointer, release on store, acquire on load. A worker holds a snapshot
// for one burst (microseconds); the keyring keeps the last kRetained snapshots alive, so a
// snapshot is freed only after several rotations.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "dtlsgate/cookie/cookie.h"

namespace dtlsgate {

using MasterSecret = std::array<uint8_t, 32>;

// HKDF-SHA256(master, "dtlsgate cookie v1" | be64(epoch)) truncated to 16 bytes.
std::array<uint8_t, 16> derive_epoch_key(const MasterSecret& master, uint64_t epoch);

// The key of one epoch, ready to MAC: id = the epoch's low byte, CMAC keyed with
// derive_epoch_key (the derived bytes are wiped). For the keyring and for tools that mint
// cookies as a node would (the flood generator).
CookieKey make_epoch_key(const MasterSecret& master, uint64_t epoch);

// Parses a secret file: 64 hex digits (whitespace and a trailing newline allowed).
// On failure returns false and sets *error to a one-line reason.
bool parse_master_secret(const std::string& text, MasterSecret* out, std::string* error);

// 32 random bytes from the OS.
MasterSecret random_master_secret();

class CookieKeyring {
 public:
  CookieKeyring(const MasterSecret& master, uint64_t rotation_seconds, uint64_t unix_seconds);

  // Main lcore: call about once a second. Publishes a new set when the epoch changes.
  // Returns true if it published.
  bool update(uint64_t unix_seconds);

  // SIGHUP: switch to a new master secret. The old master's current key stays valid for
  // verification until the next epoch change.
  void replace_master(const MasterSecret& master, uint64_t unix_seconds);

  // Any thread. Valid for at least kRetained - 1 further publications.
  const CookieKeySet* snapshot() const { return current_.load(std::memory_order_acquire); }

  uint64_t rotation_seconds() const { return rotation_; }
  uint64_t epoch() const { return snapshot()->epoch; }

  static constexpr int kRetained = 8;

 private:
  void publish(std::unique_ptr<CookieKeySet> set);

  MasterSecret master_;
  uint64_t rotation_;
  std::array<std::unique_ptr<CookieKeySet>, kRetained> retained_;
  int next_slot_ = 0;
  std::atomic<const CookieKeySet*> current_{nullptr};
};

}  // namespace dtlsgate
