// Node-RED settings for the benchmark peer (bench/nodered.py starts it). The pg Pool lives in the global
// context, as the Node-RED docs suggest for sharing a client between function nodes.
const { Pool } = require("pg");

module.exports = {
    uiPort: Number(process.env.NODERED_PORT || 1880),
    uiHost: "127.0.0.1",
    httpAdminRoot: false,          // no editor: the flow is flows.json
    httpNodeRoot: false,
    flowFile: "flows.json",
    userDir: process.env.NODERED_USER_DIR,
    credentialSecret: false,
    logging: { console: { level: "warn", metrics: false, audit: false } },
    functionGlobalContext: {
        pool: new Pool({ connectionString: process.env.DATABASE_URL, max: 10 }),
    },
};
