import { AppError } from '../../errors.js';

/** An import file that cannot be read at all: 400 INVALID_FILE, and nothing is written. */
export class InvalidFileError extends AppError {
  constructor(message: string) {
    super(400, 'INVALID_FILE', message);
  }
}
