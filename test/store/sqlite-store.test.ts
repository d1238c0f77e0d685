import { SqliteStore } from "../../src/store/sqlite-store.ts";
import { storeConformance } from "./store-conformance.ts";

storeConformance("SQLite (in memory)", async () => new SqliteStore({ path: ":memory:" }));
