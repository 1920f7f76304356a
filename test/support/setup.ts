// Nest's decorators read and write metadata through the Reflect API that this polyfill installs;
// applications import it in their entry file, tests import it once here (vitest setupFiles).
import 'reflect-metadata';
