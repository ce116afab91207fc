import { Schema, type Connection, type HydratedDocument, type Model } from 'mongoose';

export const ROLES = ['user', 'admin'] as const;
export const PLANS = ['basic', 'pro'] as const;
export const LANGUAGES = ['it', 'en'] as const;

export interface UserPreferences {
  language: (typeof LANGUAGES)[number];
  darkTheme: boolean;
  notificationSounds: boolean;
  ringtones: boolean;
}

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
  createdAt: Date;
  updatedAt: Date;
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
      ringtones: { type: Boolean, default: true },
    },
    avatarUrl: { type: String, maxlength: 2048 },
  },
  { timestamps: true },
);

// One account per extension: the invariant lives in the database, not only in code.
userSchema.index({ extension: 1 }, { unique: true });

/** "Cognome Nome", as the manual shows colleagues. */
export function displayName(user: Pick<User, 'firstName' | 'lastName'>): string {
  return `${user.lastName} ${user.firstName}`;
}

export function userModel(connection: Connection): UserModel {
  return (connection.models.User as UserModel | undefined) ?? connection.model<User>('User', userSchema);
}
