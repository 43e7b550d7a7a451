const fs = require("fs");
const who = process.env.INPUT_WHO;
const greeting = `hello ${who}`;
console.log(greeting);
fs.appendFileSync(process.env.GITHUB_OUTPUT, `greeting=${greeting}\n`);
