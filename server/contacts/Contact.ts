import { Schema, type Connection, type HydratedDocument, type Model, type Types } from 'mongoose';
import { NO_CATEGORY_ID, NUMBER_TYPES, type NumberType } from '../../shared/schemas/contacts.js';
import type { ContactSearchKeys } from './searchKeys.js';

export interface StoredNumber {
  type: NumberType;
  number: string;
  normalized: string;
  speedDial?: string;
}

/**
 * One address-book entry. `categoryId` is a category's id as a string, or NO_CATEGORY_ID: one string field keeps
 * FerretDB v1's `$in` and equality simple (no null-versus-missing semantics). `ownerId` is set for personal
 * contacts only.
 */
export interface Contact {
  _id: Types.ObjectId;
  lastName: string;
  firstName: string;
  company: string;
  notes: string;
  externalId?: string;
  personal: boolean;
  ownerId?: string;
  categoryId: string;
  numbers: StoredNumber[];
  /** Bumped at each image upload, so image URLs change with the image. 0: no image. */
  imageVersion: number;
  photoUri?: string;
  search: ContactSearchKeys;
  createdAt: Date;
  updatedAt: Date;
}

export type ContactDocument = HydratedDocument<Contact>;
export type ContactModel = Model<Contact>;

const numberSchema = new Schema<StoredNumber>(
  {
    type: { type: String, enum: NUMBER_TYPES, required: true },
    number: { type: String, required: true, maxlength: 40 },
    normalized: { type: String, required: true, maxlength: 40 },
    speedDial: { type: String, maxlength: 6 },
  },
  { _id: false },
);

const searchSchema = new Schema<ContactSearchKeys>(
  {
    tokens: [String],
    digits: [String],
    last: String,
    first: String,
    company: String,
    category: String,
  },
  { _id: false },
);

const contactSchema = new Schema<Contact>(
  {
    lastName: { type: String, default: '', maxlength: 100 },
    firstName: { type: String, default: '', maxlength: 100 },
    company: { type: String, default: '', maxlength: 200 },
    notes: { type: String, default: '', maxlength: 5_000 },
    externalId: { type: String, maxlength: 200 },
    personal: { type: Boolean, default: false },
    ownerId: { type: String },
    categoryId: { type: String, default: NO_CATEGORY_ID },
    numbers: { type: [numberSchema], default: [] },
    imageVersion: { type: Number, default: 0 },
    photoUri: { type: String, maxlength: 2048 },
    search: { type: searchSchema, required: true },
  },
  { timestamps: true },
);

contactSchema.index({ categoryId: 1 });
contactSchema.index({ ownerId: 1 });
contactSchema.index({ externalId: 1 });
contactSchema.index({ 'search.tokens': 1 });
contactSchema.index({ 'search.last': 1, 'search.first': 1 });

export function contactModel(connection: Connection): ContactModel {
  return (
    (connection.models.Contact as ContactModel | undefined) ??
    connection.model<Contact>('Contact', contactSchema)
  );
}

/** The uploaded image of a contact, resized; kept apart so that lists never carry image bytes. */
export interface ContactImage {
  _id: Types.ObjectId;
  data: Buffer;
  contentType: string;
}
export type ContactImageModel = Model<ContactImage>;

const imageSchema = new Schema<ContactImage>({
  data: { type: Buffer, required: true },
  contentType: { type: String, required: true },
});

export function contactImageModel(connection: Connection): ContactImageModel {
  return (
    (connection.models.ContactImage as ContactImageModel | undefined) ??
    connection.model<ContactImage>('ContactImage', imageSchema, 'contactimages')
  );
}

/**
 * A speed dial held by a contact. The `_id` is the computed key "<scope>:<digits>" (scope "shared", or "u:<owner>"
 * for personal contacts): `_id` is unique on every store, FerretDB v1 included, so two concurrent writers can never
 * both hold one speed dial. A contact reserves its keys before it is written and frees them after.
 */
export interface SpeedDial {
  _id: string;
  contactId: string;
  /** When the key was taken: a holder whose contact is not written yet is only given up after a while. */
  reservedAt?: Date;
}
export type SpeedDialModel = Model<SpeedDial>;

const speedDialSchema = new Schema<SpeedDial>({
  _id: { type: String, required: true },
  contactId: { type: String, required: true },
  reservedAt: { type: Date },
});
speedDialSchema.index({ contactId: 1 });

export function speedDialModel(connection: Connection): SpeedDialModel {
  return (
    (connection.models.SpeedDial as SpeedDialModel | undefined) ??
    connection.model<SpeedDial>('SpeedDial', speedDialSchema, 'contactspeeddials')
  );
}

export function speedDialKey(contact: Pick<Contact, 'personal' | 'ownerId'>, speedDial: string): string {
  return `${contact.personal ? `u:${contact.ownerId ?? ''}` : 'shared'}:${speedDial}`;
}
