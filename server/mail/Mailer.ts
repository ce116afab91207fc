import nodemailer, { type Transporter } from 'nodemailer';
import type { Logger } from '../logger.js';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  /** An iCalendar invitation attached the way calendar clients expect (text/calendar; method=…). */
  icalEvent?: { method: 'REQUEST' | 'CANCEL'; content: string; filename?: string };
}

/**
 * Outgoing mail over SMTP (nodemailer). Without an SMTP URL nothing is sent and the skip is logged, so a
 * development stack works without a mail server. Message bodies are never logged: they carry one-time links.
 */
export class Mailer {
  readonly #transport: Transporter | undefined;
  readonly #from: string;
  readonly #logger: Logger;
  #closed = false;

  constructor(options: { smtpUrl: string | undefined; from: string }, logger: Logger) {
    this.#from = options.from;
    this.#logger = logger.child({ component: 'mail' });
    this.#transport = options.smtpUrl ? nodemailer.createTransport(options.smtpUrl) : undefined;
  }

  get enabled(): boolean {
    return this.#transport !== undefined;
  }

  /** Resolves true when the SMTP server accepted the message. */
  async send(message: MailMessage): Promise<boolean> {
    if (!this.#transport) {
      this.#logger.warn({ subject: message.subject }, 'no SMTP_URL configured; mail not sent');
      return false;
    }
    await this.#transport.sendMail({
      from: this.#from,
      to: message.to,
      subject: message.subject,
      text: message.text,
      ...(message.icalEvent ? { icalEvent: message.icalEvent } : {}),
    });
    this.#logger.info({ subject: message.subject }, 'mail sent');
    return true;
  }

  /** Idempotent: closes the SMTP connections (a message being sent fails). */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#transport?.close();
    }
    return Promise.resolve();
  }
}
