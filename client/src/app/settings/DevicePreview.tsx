import { useEffect, useRef, useState } from 'react';
import { canChooseOutput, routeAudio, type DeviceChoice } from './devices.js';
import { useI18n } from '../i18n/i18n.js';

type Kind = 'audioinput' | 'videoinput' | 'audiooutput';
const KEY: Record<Kind, keyof DeviceChoice> = {
  audioinput: 'audioInput',
  videoinput: 'videoInput',
  audiooutput: 'audioOutput',
};

/**
 * Microphone, camera and (where the browser can route audio) speaker choice, with a live camera preview and a
 * microphone level meter. The preview is captured only while this is on screen, and released on the way out.
 */
export function DevicePreview({
  value,
  onChange,
  idPrefix,
}: {
  value: DeviceChoice;
  onChange: (choice: DeviceChoice) => void;
  idPrefix: string;
}): React.JSX.Element {
  const { t } = useI18n();
  const [devices, setDevices] = useState<MediaDeviceInfo[]>([]);
  const [stream, setStream] = useState<MediaStream | undefined>();
  const [failure, setFailure] = useState<'denied' | 'unavailable' | undefined>();
  const meterRef = useRef<HTMLDivElement>(null);
  const videoRef = useRef<HTMLVideoElement>(null);
  const { audioInput, videoInput } = value;

  // Capture with the chosen devices; labels of devices are readable only once access was granted.
  useEffect(() => {
    let live = true;
    let captured: MediaStream | undefined;
    setFailure(undefined);
    const constraint = (id: string | undefined): MediaTrackConstraints | boolean =>
      id ? { deviceId: { ideal: id } } : true;
    navigator.mediaDevices
      .getUserMedia({ audio: constraint(audioInput), video: constraint(videoInput) })
      .then(
        async (s) => {
          if (!live) {
            for (const track of s.getTracks()) track.stop();
            return;
          }
          captured = s;
          setStream(s);
          setDevices(await navigator.mediaDevices.enumerateDevices());
        },
        (err: unknown) => {
          if (live)
            setFailure(
              err instanceof DOMException && err.name === 'NotAllowedError' ? 'denied' : 'unavailable',
            );
        },
      );
    return () => {
      live = false;
      for (const track of captured?.getTracks() ?? []) track.stop();
    };
  }, [audioInput, videoInput]);

  useEffect(() => {
    const update = (): void => void navigator.mediaDevices.enumerateDevices().then(setDevices);
    navigator.mediaDevices.addEventListener('devicechange', update);
    return () => navigator.mediaDevices.removeEventListener('devicechange', update);
  }, []);

  useEffect(() => {
    const el = videoRef.current;
    if (!el || !stream) return;
    el.srcObject = stream;
    el.play().catch(() => undefined);
  }, [stream]);

  // The meter: the RMS of the microphone's signal, read once per animation frame and written straight to the
  // element (a React render per frame would be wasted work).
  useEffect(() => {
    if (!stream || stream.getAudioTracks().length === 0) return;
    const ctx = new AudioContext();
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 512;
    ctx.createMediaStreamSource(stream).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    let frame = requestAnimationFrame(function tick() {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      const percent = Math.round(Math.min(1, Math.sqrt(sum / samples.length) * 4) * 100);
      const meter = meterRef.current;
      if (meter) {
        meter.setAttribute('aria-valuenow', String(percent));
        meter.style.setProperty('--level', `${percent}%`);
      }
      frame = requestAnimationFrame(tick);
    });
    return () => {
      cancelAnimationFrame(frame);
      void ctx.close();
    };
  }, [stream]);

  const current = (kind: Kind): string => {
    const chosen = value[KEY[kind]];
    if (chosen && devices.some((d) => d.kind === kind && d.deviceId === chosen)) return chosen;
    // What is actually in use when nothing (or an unplugged device) was chosen.
    const track =
      kind === 'audioinput'
        ? stream?.getAudioTracks()[0]
        : kind === 'videoinput'
          ? stream?.getVideoTracks()[0]
          : undefined;
    return track?.getSettings().deviceId ?? '';
  };

  const select = (kind: Kind, label: string): React.JSX.Element => {
    const list = devices.filter((d) => d.kind === kind && d.deviceId);
    return (
      <div className="field">
        <label htmlFor={`${idPrefix}-${kind}`}>{label}</label>
        <select
          id={`${idPrefix}-${kind}`}
          value={current(kind)}
          disabled={list.length === 0}
          onChange={(e) => onChange({ ...value, [KEY[kind]]: e.target.value || undefined })}
        >
          {list.length === 0 && <option value="">{t('deviceDefault')}</option>}
          {list.map((d, i) => (
            <option key={d.deviceId} value={d.deviceId}>
              {d.label || `${label} ${i + 1}`}
            </option>
          ))}
        </select>
      </div>
    );
  };

  const testOutput = (): void => {
    // A short tone through the chosen output, the way remote voices will be played.
    const ctx = new AudioContext();
    const dest = ctx.createMediaStreamDestination();
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    gain.gain.value = 0.15;
    osc.frequency.value = 523;
    osc.connect(gain).connect(dest);
    const audio = new Audio();
    audio.srcObject = dest.stream;
    void routeAudio(audio, value.audioOutput).then(() => {
      osc.start();
      void audio.play().catch(() => undefined);
      setTimeout(() => {
        osc.stop();
        audio.srcObject = null;
        void ctx.close();
      }, 600);
    });
  };

  return (
    <div className="device-preview">
      <div className="preview-media">
        <video ref={videoRef} muted playsInline autoPlay aria-label={t('cameraPreview')} />
        {failure && (
          <p className="preview-error" role="alert">
            {failure === 'denied' ? t('devicesDenied') : t('devicesUnavailable')}
          </p>
        )}
      </div>
      <div className="preview-fields">
        {select('audioinput', t('microphone'))}
        <div
          ref={meterRef}
          className="meter"
          role="meter"
          aria-label={t('micLevel')}
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={0}
        >
          <span />
        </div>
        {select('videoinput', t('camera'))}
        {canChooseOutput() && (
          <>
            {select('audiooutput', t('speaker'))}
            <button type="button" onClick={testOutput}>
              {t('testSpeaker')}
            </button>
          </>
        )}
      </div>
    </div>
  );
}
