import type { types } from 'mediasoup';

/**
 * The codecs every meeting router offers. RTX is added by mediasoup for each video codec. VP8 comes first so that
 * simulcast works with every browser; H264 (constrained baseline, packetization-mode 1) serves hardware encoders.
 */
export const MEDIA_CODECS: types.RouterRtpCodecCapability[] = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48_000, channels: 2 },
  { kind: 'video', mimeType: 'video/VP8', clockRate: 90_000, parameters: { 'x-google-start-bitrate': 1000 } },
  {
    kind: 'video',
    mimeType: 'video/H264',
    clockRate: 90_000,
    parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 },
  },
];
