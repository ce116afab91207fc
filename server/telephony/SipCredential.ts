import { createHash, randomBytes } from 'node:crypto';
import { Schema, type Connection, type Model } from 'mongoose';

/**
 * An extension's SIP digest credentials. Only the HA1 (md5 of `extension:domain:password`) is kept: it is what
 * Kamailio checks and what JsSIP can register with; the password itself is shown once, when it is generated.
 */
export interface SipCredential {
  userId: string;
  extension: string;
  domain: string;
  ha1: string;
  createdAt: Date;
  updatedAt: Date;
}

export type SipCredentialModel = Model<SipCredential>;

const sipCredentialSchema = new Schema<SipCredential>(
  {
    userId: { type: String, required: true },
    extension: { type: String, required: true, match: /^\d{2,10}$/ },
    domain: { type: String, required: true },
    ha1: { type: String, required: true, match: /^[0-9a-f]{32}$/ },
  },
  { timestamps: true },
);
sipCredentialSchema.index({ extension: 1 }, { unique: true });

export function sipCredentialModel(connection: Connection): SipCredentialModel {
  return (
    (connection.models.SipCredential as SipCredentialModel | undefined) ??
    connection.model<SipCredential>('SipCredential', sipCredentialSchema)
  );
}

/** RFC 2617's HA1: MD5 is what SIP digest (and Kamailio's htable check) uses. */
export function digestHa1(extension: string, domain: string, password: string): string {
  return createHash('md5').update(`${extension}:${domain}:${password}`).digest('hex');
}

/** 20 characters from a URL-safe alphabet: about 120 bits, and typeable on a desk phone's web page. */
export function generateSipPassword(): string {
  return randomBytes(15).toString('base64url');
}
