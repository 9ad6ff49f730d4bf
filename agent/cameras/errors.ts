/**
 * A camera problem with its kind, decided where it happens (ONVIF answer, RTSP reply), so the
 * recorder stores the right gap reason without guessing from message text.
 * - auth: the camera answered and refused the credentials
 * - unreachable: nothing answered at the address (switched off, unplugged, wrong address)
 * - protocol: the camera answered, but not with what was needed (no stream URI, bad XML)
 * Configuration problems (an unset environment secret) are `InputError`s from config/, not these.
 */
export type CameraErrorKind = 'auth' | 'unreachable' | 'protocol';

export class CameraError extends Error {
  constructor(
    readonly kind: CameraErrorKind,
    message: string,
    /** auth: no user name was configured at all (not a wrong one) */
    readonly credentialsMissing = false,
  ) {
    super(message);
    this.name = 'CameraError';
  }
}
