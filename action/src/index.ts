// The bundle's entry point (dist/index.js). Everything else is in main.ts, so
// tests can import it without running the action.
import { run } from "./main";

void run();
