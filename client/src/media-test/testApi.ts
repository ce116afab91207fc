/**
 * What the media test page exposes as `window.ucc`, for end-to-end tests driving it with playwright. Plain data
 * only (no DOM types), so that Node-side tests can import these types.
 */

export interface PageState {
  connection: string;
  media: string;
  participantId: string | undefined;
  isOrganizer: boolean;
  mic: { muted: boolean; locked: boolean };
  /** The sources this page publishes, once their producers exist. */
  published: ('mic' | 'camera' | 'screen')[];
  /** The last error the page met, if any. */
  error: string | undefined;
}

export interface ConsumerView {
  consumerId: string;
  participantId: string;
  source: 'mic' | 'camera' | 'screen';
  kind: 'audio' | 'video';
  producerPaused: boolean;
  spatialLayer: number | null | undefined;
  temporalLayer: number | null | undefined;
}

/** The inbound-rtp figures of one consumer. */
export interface ConsumerStats extends ConsumerView {
  packetsReceived: number;
  bytesReceived: number;
  /** Video only (0 for audio). */
  framesDecoded: number;
  frameWidth: number;
  frameHeight: number;
}

export interface ProducerEncodings {
  producerId: string | undefined;
  /** As the RTCRtpSender is configured. */
  encodings: { rid: string | undefined; active: boolean; scaleResolutionDownBy: number | undefined }[];
  /** outbound-rtp streams of this producer that encoded frames. */
  outbound: { rid: string | undefined; framesEncoded: number; frameWidth: number; frameHeight: number }[];
}

/** One transport as WebRTC reports it: its selected candidate pair and its DTLS-SRTP. */
export interface TransportView {
  direction: 'send' | 'recv';
  connectionState: string;
  localCandidateType: string | undefined;
  remoteCandidateType: string | undefined;
  /** The protocol of the selected local candidate: udp or tcp. */
  protocol: string | undefined;
  /** The local candidate's relay protocol when relayed (udp, tcp, tls). */
  relayProtocol: string | undefined;
  dtlsState: string | undefined;
  srtpCipher: string | undefined;
}

/** An event the page received from the server or the media layer, in order. */
export type PageEvent =
  | { type: 'mutedByOrganizer'; locked: boolean }
  | { type: 'micUnlocked' }
  | { type: 'cameraStoppedByOrganizer' }
  | { type: 'layersChanged'; consumerId: string; spatialLayer: number | null; temporalLayer: number | null }
  | { type: 'remotePaused'; consumerId: string; paused: boolean }
  | { type: 'restarting'; reason: string }
  | { type: 'resumed' }
  | { type: 'iceRestarted'; direction: 'send' | 'recv' }
  | { type: 'activeSpeaker'; participantId: string }
  | { type: 'error'; message: string };

export interface UccTestApi {
  state(): PageState;
  participants(): { participantId: string; displayName: string }[];
  consumers(): ConsumerView[];
  stats(): Promise<ConsumerStats[]>;
  events(): PageEvent[];
  transports(): Promise<TransportView[]>;
  /** Restarts ICE on both transports through the server. */
  restartIce(): Promise<void>;
  producerEncodings(source: 'camera' | 'screen'): Promise<ProducerEncodings>;
  /** `display` asks getDisplayMedia; `canvas` publishes an animated canvas as the screen. */
  startScreenShare(mode?: 'display' | 'canvas'): Promise<{ producerId: string | undefined }>;
  stopScreenShare(): Promise<void>;
  setPreferredLayers(consumerId: string, spatialLayer: number, temporalLayer?: number): Promise<void>;
  /** Shows a remote video `heightPx` tall and lets the media layer pick its simulcast layer from that size. */
  followDisplay(consumerId: string, heightPx: number): void;
  muteMic(): Promise<void>;
  /** Resolves with the error code when the server refuses (e.g. FORBIDDEN while locked). */
  unmuteMic(): Promise<string | undefined>;
  /** Organizer only. */
  muteParticipant(participantId: string, lock: boolean): Promise<number>;
  /** Organizer only. */
  unlockParticipant(participantId: string): Promise<void>;
  /** Drops the socket's underlying connection, as a network blip would; socket.io reconnects by itself. */
  dropConnection(): void;
  leave(): Promise<void>;
}
