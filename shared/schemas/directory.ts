import { z } from 'zod';

export const ROLE_VALUES = ['user', 'admin'] as const;
export const PLAN_VALUES = ['basic', 'pro'] as const;
export const LANGUAGE_VALUES = ['it', 'en'] as const;

/** Control characters are never part of a name. */
const noControl = (s: string): boolean => !/[\p{Cc}]/u.test(s);

export const extensionSchema = z
  .string()
  .trim()
  .regex(/^\d{2,10}$/, 'must be 2 to 10 digits');
const nameSchema = z.string().trim().min(1).max(100).refine(noControl, 'must not contain control characters');
export const passwordSchema = z.string().min(8, 'must be at least 8 characters').max(200);
const emailSchema = z.email().max(254);

/** A browser media device id (MediaDeviceInfo.deviceId); empty or absent means the system's default. */
const deviceIdSchema = z.string().max(256).refine(noControl, 'must not contain control characters');

/** The devices chosen in the settings, by kind; each is the browser's id of that device. */
export const devicesSchema = z.strictObject({
  audioInput: deviceIdSchema.optional(),
  videoInput: deviceIdSchema.optional(),
  audioOutput: deviceIdSchema.optional(),
});
export type DevicePreferences = z.infer<typeof devicesSchema>;

/** The web phone's ringtones ("Suoneria 1", 2, 3), synthesised in the browser. */
export const PHONE_RINGTONES = ['ring1', 'ring2', 'ring3'] as const;
export type PhoneRingtone = (typeof PHONE_RINGTONES)[number];

/** "Telefono via web" (on: the browser registers too) and how it rings. */
export const phonePreferencesSchema = z.strictObject({
  web: z.boolean(),
  ringInternal: z.enum(PHONE_RINGTONES),
  ringExternal: z.enum(PHONE_RINGTONES),
  /** The speaker that rings; absent: the system's default. */
  ringDevice: deviceIdSchema.optional(),
});
export type PhonePreferences = z.infer<typeof phonePreferencesSchema>;

export const preferencesSchema = z.strictObject({
  language: z.enum(LANGUAGE_VALUES),
  darkTheme: z.boolean(),
  /** A sound for a message that arrives while the app is in the background. */
  notificationSounds: z.boolean(),
  /** A sound when a message of one's own is sent. */
  sendSound: z.boolean(),
  ringtones: z.boolean(),
  devices: devicesSchema,
  phone: phonePreferencesSchema,
});
export type Preferences = z.infer<typeof preferencesSchema>;

/** What the API shows of a user. Never the password hash. */
export interface PublicUser {
  id: string;
  extension: string;
  firstName: string;
  lastName: string;
  /** "Cognome Nome", as the manual shows colleagues. */
  displayName: string;
  email?: string;
  role: (typeof ROLE_VALUES)[number];
  plan: (typeof PLAN_VALUES)[number];
  disabled: boolean;
  avatarUrl?: string;
}

/** The caller's own profile adds preferences. */
export interface Profile extends PublicUser {
  preferences: Preferences;
}

/** POST /api/directory/users (admin). */
export const createUserSchema = z.strictObject({
  extension: extensionSchema,
  firstName: nameSchema,
  lastName: nameSchema,
  email: emailSchema.optional(),
  password: passwordSchema,
  role: z.enum(ROLE_VALUES).default('user'),
  plan: z.enum(PLAN_VALUES).default('basic'),
  avatarUrl: z.url().max(2048).optional(),
});
export type CreateUserRequest = z.infer<typeof createUserSchema>;

/** PATCH /api/directory/users/:id (admin). Only the fields given change; `email: null` removes it. */
export const updateUserSchema = z
  .strictObject({
    firstName: nameSchema,
    lastName: nameSchema,
    email: emailSchema.nullable(),
    password: passwordSchema,
    role: z.enum(ROLE_VALUES),
    plan: z.enum(PLAN_VALUES),
    disabled: z.boolean(),
    avatarUrl: z.url().max(2048).nullable(),
  })
  .partial()
  .refine((v) => Object.keys(v).length > 0, 'at least one field is required');
export type UpdateUserRequest = z.infer<typeof updateUserSchema>;

/** One PBX extension as the PBX reports it, in a sync or a CSV row. */
export const pbxExtensionSchema = z.strictObject({
  extension: extensionSchema,
  firstName: nameSchema,
  lastName: nameSchema,
  email: emailSchema.optional(),
  plan: z.enum(PLAN_VALUES).optional(),
  /** Only used when the extension is created; existing passwords are never overwritten by a sync. */
  password: passwordSchema.optional(),
});
export type PbxExtension = z.infer<typeof pbxExtensionSchema>;

/** PUT /api/directory/sync (admin): the PBX's full list. Rows are validated one by one. */
export const syncRequestSchema = z.strictObject({
  users: z.array(z.unknown()).max(20_000),
});

export interface RowError {
  /** 1-based row number (the CSV header is row 0). */
  row: number;
  extension?: string;
  message: string;
}

export interface SyncResult {
  created: number;
  updated: number;
  disabled: number;
  unchanged: number;
  errors: RowError[];
}

/** GET /api/directory?q=&page=&pageSize= */
export const searchQuerySchema = z.strictObject({
  q: z.string().trim().max(100).default(''),
  page: z.coerce.number().int().min(1).max(10_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(100).default(20),
});
export type SearchQuery = z.infer<typeof searchQuerySchema>;

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  pageSize: number;
}

/** PATCH /api/me/preferences: only the fields given change; `devices` is replaced as a whole. */
export const updatePreferencesSchema = preferencesSchema.partial();

export const objectIdSchema = z.string().regex(/^[0-9a-f]{24}$/i, 'must be an id');

/** Route parameters of /api/directory/users/:id. */
export const userIdParamsSchema = z.strictObject({ id: objectIdSchema });

/** The CSV columns of POST /api/directory/import, in the order an export template uses. */
export const CSV_COLUMNS = ['extension', 'firstName', 'lastName', 'email', 'plan', 'password'] as const;
export const REQUIRED_CSV_COLUMNS = ['extension', 'firstName', 'lastName'] as const;
