import { z } from 'zod';

/** The first request a client makes on a fresh socket: it names itself, and learns the server's identity. */
export const helloRequestSchema = z.strictObject({
  client: z.string().trim().min(1).max(64),
});

export type HelloRequest = z.infer<typeof helloRequestSchema>;
