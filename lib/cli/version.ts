/**
 * The project's version, in a module of its own: the program's declaration and the
 * daemon (which reports it) both read it, and neither imports the other.
 *
 * @module
 */

/** The project's version. */
export const VERSION = "0.1.0";
