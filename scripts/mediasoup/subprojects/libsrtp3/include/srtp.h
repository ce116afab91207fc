/*
 * srtp.h - libsrtp 3 call shapes on top of Debian's libsrtp 2.5.
 *
 * mediasoup 3.19 is written against libsrtp 3 (its own fork, fetched by a
 * meson wrap). We build against Debian's libsrtp2 instead. mediasoup does
 * `#include <srtp.h>`; this file is found first (Debian installs its header as
 * <srtp2/srtp.h>, so there is no clash) and adds the few v3 entry points that
 * mediasoup calls, as C++ overloads that forward to the v2 functions.
 *
 * Differences bridged here:
 *  - v3 protect/unprotect take (in, in_len, out, &out_len) with size_t
 *    lengths, where *out_len is the capacity of `out` on entry and the
 *    resulting length on return. v2 works in place on one buffer with an
 *    `int` length and assumes spare room after the packet for the trailer
 *    (SRTP_MAX_TRAILER_LEN, plus 4 bytes of SRTCP index for RTCP).
 *    We copy `in` to `out` (memmove: they may be the same or overlap),
 *    check the capacity first, and refuse lengths that do not fit in an int.
 *  - v3 takes an MKI index; v2's plain functions do not use MKI. mediasoup
 *    always passes 0; anything else is refused.
 *  - v3 renamed srtp_remove_stream() to srtp_stream_remove().
 *  - v3 added two error codes that mediasoup names in its error table.
 *
 * It touches crypto: keep it small, and re-check it on every upgrade.
 * The srtp_policy_t fields mediasoup sets (ssrc, rtp, rtcp, key, window_size,
 * allow_repeat_tx, next) and the event API exist unchanged in libsrtp 2.5.
 */

#ifndef MS_SRTP3_ON_SRTP2_H
#define MS_SRTP3_ON_SRTP2_H

#ifndef __cplusplus
#error "this srtp.h adaptation header is only meant for mediasoup's C++ sources"
#endif

#include <srtp2/srtp.h>

#include <climits> // INT_MAX
#include <cstddef> // size_t
#include <cstdint> // uint8_t
#include <cstring> // std::memmove

/*
 * Error codes new in libsrtp 3. libsrtp 2.5's srtp_err_status_t ends at
 * srtp_err_status_pkt_idx_adv = 27; libsrtp 3 uses 28 and 29 for these, which
 * collide with nothing in v2 and lie inside the enum's value range (0..31),
 * so the casts are well defined.
 */
static_assert(srtp_err_status_pkt_idx_adv == 27, "unexpected libsrtp2 error enum; re-check srtp.h");
constexpr srtp_err_status_t srtp_err_status_buffer_small = static_cast<srtp_err_status_t>(28);
constexpr srtp_err_status_t srtp_err_status_cryptex_err  = static_cast<srtp_err_status_t>(29);

namespace ms_srtp3_on_srtp2
{
	using v2_fn = srtp_err_status_t (*)(srtp_t, void*, int*);

	/*
	 * Copies `in` into `out` when needed, runs the in-place v2 function `fn`
	 * there and reports the new length in *out_len. `trailer` is the room v2
	 * may write after the packet (0 for unprotect, which only shrinks it).
	 */
	inline srtp_err_status_t run(
	  v2_fn fn,
	  srtp_t ctx,
	  const uint8_t* in,
	  size_t in_len,
	  uint8_t* out,
	  size_t* out_len,
	  size_t trailer)
	{
		if (ctx == nullptr || in == nullptr || out == nullptr || out_len == nullptr)
		{
			return srtp_err_status_bad_param;
		}
		// Keep in_len + trailer in int range (no overflow in the checks below).
		if (in_len > static_cast<size_t>(INT_MAX) - trailer)
		{
			return srtp_err_status_bad_param;
		}
		if (*out_len < in_len + trailer)
		{
			return srtp_err_status_buffer_small;
		}

		if (out != in)
		{
			std::memmove(out, in, in_len);
		}

		int len = static_cast<int>(in_len);
		const srtp_err_status_t status = fn(ctx, out, &len);

		if (status != srtp_err_status_ok)
		{
			return status;
		}
		if (len < 0 || static_cast<size_t>(len) > in_len + trailer)
		{
			// Cannot happen with a sane libsrtp; never report a bogus length.
			return srtp_err_status_fail;
		}

		*out_len = static_cast<size_t>(len);

		return srtp_err_status_ok;
	}
} // namespace ms_srtp3_on_srtp2

inline srtp_err_status_t srtp_protect(
  srtp_t ctx, const uint8_t* rtp, size_t rtp_len, uint8_t* srtp, size_t* srtp_len, size_t mki_index)
{
	if (mki_index != 0)
	{
		return srtp_err_status_bad_mki;
	}

	return ms_srtp3_on_srtp2::run(
	  static_cast<ms_srtp3_on_srtp2::v2_fn>(&srtp_protect), ctx, rtp, rtp_len, srtp, srtp_len, SRTP_MAX_TRAILER_LEN);
}

inline srtp_err_status_t srtp_unprotect(
  srtp_t ctx, const uint8_t* srtp, size_t srtp_len, uint8_t* rtp, size_t* rtp_len)
{
	return ms_srtp3_on_srtp2::run(
	  static_cast<ms_srtp3_on_srtp2::v2_fn>(&srtp_unprotect), ctx, srtp, srtp_len, rtp, rtp_len, 0);
}

inline srtp_err_status_t srtp_protect_rtcp(
  srtp_t ctx, const uint8_t* rtcp, size_t rtcp_len, uint8_t* srtcp, size_t* srtcp_len, size_t mki_index)
{
	if (mki_index != 0)
	{
		return srtp_err_status_bad_mki;
	}

	// v2 documents SRTP_MAX_TRAILER_LEN + 4 (the SRTCP index word) for RTCP.
	return ms_srtp3_on_srtp2::run(
	  static_cast<ms_srtp3_on_srtp2::v2_fn>(&srtp_protect_rtcp),
	  ctx,
	  rtcp,
	  rtcp_len,
	  srtcp,
	  srtcp_len,
	  SRTP_MAX_TRAILER_LEN + 4);
}

inline srtp_err_status_t srtp_unprotect_rtcp(
  srtp_t ctx, const uint8_t* srtcp, size_t srtcp_len, uint8_t* rtcp, size_t* rtcp_len)
{
	return ms_srtp3_on_srtp2::run(
	  static_cast<ms_srtp3_on_srtp2::v2_fn>(&srtp_unprotect_rtcp), ctx, srtcp, srtcp_len, rtcp, rtcp_len, 0);
}

// v3 name of srtp_remove_stream(); `ssrc` is in network byte order in both.
inline srtp_err_status_t srtp_stream_remove(srtp_t session, uint32_t ssrc)
{
	return srtp_remove_stream(session, ssrc);
}

#endif
