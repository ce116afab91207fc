import {
  PHONE_RINGTONES,
  type DevicePreferences,
  type PhonePreferences,
  type Profile,
  type PublicUser,
} from '../../shared/schemas/directory.js';
import { Schema, type Connection, type HydratedDocument, type Model } from 'mongoose';

export const ROLES = ['user', 'admin'] as const;
export const PLANS = ['basic', 'pro'] as const;
export const LANGUAGES = ['it', 'en'] as const;

export interface UserPreferences {
  language: (typeof LANGUAGES)[number];
  darkTheme: boolean;
  /** A sound for a message that arrives while the app is in the background. */
  notificationSounds: boolean;
  /** A sound when one's own message is sent. */
  sendSound: boolean;
  ringtones: boolean;
  /** The browser's ids of the chosen microphone, camera and speakers. */
  devices: DevicePreferences;
  /** "Telefono via web" and its ringtones. */
  phone: PhonePreferences;
}

const DEVICE_KINDS = ['audioInput', 'videoInput', 'audioOutput'] as const;

const devicesSchema = new Schema<DevicePreferences>(
  Object.fromEntries(DEVICE_KINDS.map((k) => [k, { type: String, maxlength: 256 }])),
  { _id: false },
);

const phonePreferencesSchema = new Schema<PhonePreferences>(
  {
    web: { type: Boolean, default: true },
    ringInternal: { type: String, enum: PHONE_RINGTONES, default: 'ring1' },
    ringExternal: { type: String, enum: PHONE_RINGTONES, default: 'ring2' },
    ringDevice: { type: String, maxlength: 256 },
  },
  { _id: false },
);

/** A PBX extension: the identity used for login, chat and meetings. */
export interface User {
  extension: string;
  firstName: string;
  lastName: string;
  email?: string;
  passwordHash: string;
  role: (typeof ROLES)[number];
  plan: (typeof PLANS)[number];
  disabled: boolean;
  preferences: UserPreferences;
  avatarUrl?: string;
  /** Derived from the names and the extension for colleague search; see searchKeysOf. Never set by hand. */
  search?: UserSearchKeys;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * Accent- and case-folded keys for colleague search. FerretDB v1 has no collations, so folding happens here, on
 * write, and queries are plain anchored regexes on `tokens` and a sort on `sortKey`.
 */
export interface UserSearchKeys {
  /** Folded name words (and each name run together, for "D'Angelo" or "De Luca"), plus the extension. */
  tokens: string[];
  /** Folded "lastName<SOH>firstName": sorts by last name, then first name, whatever the case or accents. */
  sortKey: string;
}

/** "Nicolò" → "nicolo": compatibility decomposition, combining marks dropped, lower case. */
export function foldForSearch(text: string): string {
  return text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
}

/** The folded words of a text, split at anything that is not a letter or a digit. */
export function searchWords(text: string): string[] {
  return foldForSearch(text)
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length > 0);
}

export function searchKeysOf(user: Pick<User, 'extension' | 'firstName' | 'lastName'>): UserSearchKeys {
  const tokens = new Set<string>();
  for (const name of [user.firstName, user.lastName]) {
    const words = searchWords(name);
    for (const w of words) tokens.add(w);
    if (words.length > 1) tokens.add(words.join(''));
  }
  tokens.add(user.extension);
  // \u0001 sorts before any letter, so "De" + "Zeno" comes before "De Luca" + "Anna".
  const sortKey = `${searchWords(user.lastName).join(' ')}\u0001${searchWords(user.firstName).join(' ')}`;
  return { tokens: [...tokens], sortKey };
}

export type UserDocument = HydratedDocument<User>;
export type UserModel = Model<User>;

const userSchema = new Schema<User>(
  {
    extension: { type: String, required: true, match: /^\d{2,10}$/ },
    firstName: { type: String, required: true, trim: true, maxlength: 100 },
    lastName: { type: String, required: true, trim: true, maxlength: 100 },
    email: { type: String, trim: true, lowercase: true, maxlength: 254 },
    passwordHash: { type: String, required: true },
    role: { type: String, enum: ROLES, default: 'user' },
    plan: { type: String, enum: PLANS, default: 'basic' },
    disabled: { type: Boolean, default: false },
    preferences: {
      language: { type: String, enum: LANGUAGES, default: 'it' },
      darkTheme: { type: Boolean, default: false },
      notificationSounds: { type: Boolean, default: true },
      // Accounts saved before a preference existed get its default when read as documents (not with lean()).
      sendSound: { type: Boolean, default: true },
      ringtones: { type: Boolean, default: true },
      devices: { type: devicesSchema, default: () => ({}) },
      phone: { type: phonePreferencesSchema, default: () => ({}) },
    },
    avatarUrl: { type: String, maxlength: 2048 },
    search: {
      type: new Schema<UserSearchKeys>({ tokens: [String], sortKey: String }, { _id: false }),
      default: undefined,
    },
  },
  { timestamps: true },
);

// Every document save keeps the search keys current; updateOne() writers must $set them (searchKeysOf).
userSchema.pre('validate', function (next) {
  const stale = this.isNew || !this.search || this.isModified(['firstName', 'lastName', 'extension']);
  // Missing names are left for the `required` validators to report.
  const complete = [this.firstName, this.lastName, this.extension].every((v) => typeof v === 'string');
  if (stale && complete) this.search = searchKeysOf(this);
  next();
});

// One account per extension: the invariant lives in the database, not only in code.
userSchema.index({ extension: 1 }, { unique: true });
userSchema.index({ 'search.tokens': 1 });
userSchema.index({ 'search.sortKey': 1 });

/** "Cognome Nome", as the manual shows colleagues. */
export function displayName(user: Pick<User, 'firstName' | 'lastName'>): string {
  return `${user.lastName} ${user.firstName}`;
}

export function userModel(connection: Connection): UserModel {
  return (connection.models.User as UserModel | undefined) ?? connection.model<User>('User', userSchema);
}

/** The API's view of a user: never the password hash. */
export function toPublicUser(user: User & { _id: unknown }): PublicUser {
  const out: PublicUser = {
    id: String(user._id),
    extension: user.extension,
    firstName: user.firstName,
    lastName: user.lastName,
    displayName: displayName(user),
    role: user.role,
    plan: user.plan,
    disabled: user.disabled,
  };
  if (user.email) out.email = user.email;
  if (user.avatarUrl) out.avatarUrl = user.avatarUrl;
  return out;
}

/**
 * The caller's profile. The preferences are copied field by field, so the answer has every one of them (a
 * document's `toObject()` drops an empty `devices`) and nothing of mongoose's.
 */
export function toProfile(user: User & { _id: unknown }): Profile {
  const p = user.preferences;
  const devices: DevicePreferences = {};
  for (const kind of DEVICE_KINDS) {
    const id = p.devices?.[kind];
    if (typeof id === 'string') devices[kind] = id;
  }
  return {
    ...toPublicUser(user),
    preferences: {
      language: p.language,
      darkTheme: p.darkTheme,
      notificationSounds: p.notificationSounds,
      sendSound: p.sendSound,
      ringtones: p.ringtones,
      devices,
      phone: phonePreferencesOf(p.phone),
    },
  };
}

/** Stored phone preferences, or the defaults for accounts saved before they existed (lean reads). */
function phonePreferencesOf(stored: Partial<PhonePreferences> | undefined): PhonePreferences {
  const phone: PhonePreferences = {
    web: stored?.web ?? true,
    ringInternal: stored?.ringInternal ?? 'ring1',
    ringExternal: stored?.ringExternal ?? 'ring2',
  };
  if (typeof stored?.ringDevice === 'string' && stored.ringDevice !== '')
    phone.ringDevice = stored.ringDevice;
  return phone;
}
