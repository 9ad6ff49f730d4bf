import type { Config } from '../config/schema.js';
import type { FaceRepo } from '../store/faces.js';
import { bytesToDescriptor, descriptorToBytes, loadOrCreateKey, open, seal, type Sealed } from './keyfile.js';
import type { GalleryEntry } from './match.js';
import { resolveFaceKey } from './keysource.js';

/** The face key's file (resolveFaceKey: config, then the systemd credential, then `<state>/vision.key`). */
export const keyFileOf = (cfg: Config) => resolveFaceKey(cfg).file;

/** AAD of a descriptor row: a sealed descriptor moved to another trainee or model fails to open. */
const aad = (trainee: string, model: string) => `face-descriptor|${trainee}|${model}`;
const photoAad = (trainee: string) => `face-photo|${trainee}`;

export function sealDescriptor(key: Buffer, trainee: string, model: string, d: Float32Array): Sealed {
  return seal(key, descriptorToBytes(d), aad(trainee, model));
}
/** AAD of a matched-face crop: bound to its trainee and match row, so it cannot be moved to another. */
const cropAad = (trainee: string, matchId: number) => `face-crop|${trainee}|${matchId}`;
export function sealCrop(key: Buffer, trainee: string, matchId: number, jpeg: Buffer): Sealed {
  return seal(key, jpeg, cropAad(trainee, matchId));
}
/** The JPEG of a matched face, for the console (roles allowed to see faces only). */
export function openCrop(key: Buffer, crop: Sealed & { trainee: string }, matchId: number): Buffer {
  return open(key, crop, cropAad(crop.trainee, matchId));
}

export function sealPhoto(key: Buffer, trainee: string, bytes: Buffer): Sealed {
  return seal(key, bytes, photoAad(trainee));
}

/** The decrypted gallery of these trainees for one model. Plaintext lives in memory only. */
export function loadGallery(faces: FaceRepo, key: Buffer, trainees: readonly string[], model: string): (GalleryEntry & { id: number })[] {
  return faces.descriptors(trainees, model).map((r) => ({ id: r.id, trainee: r.trainee, descriptor: bytesToDescriptor(open(key, r, aad(r.trainee, model))) }));
}

/** Decrypted classroom samples (confirmed sightings) of one model, with where each came from. */
export function loadClassroomSamples(faces: FaceRepo, key: Buffer, model: string): (GalleryEntry & { id: number; source: string })[] {
  return faces.classroomDescriptors(model).map((r) => ({ id: r.id, source: r.source, trainee: r.trainee, descriptor: bytesToDescriptor(open(key, r, aad(r.trainee, model))) }));
}

export { loadOrCreateKey };
