# Literal command output and the user's and agent's words keep their real line lengths.
# ruff: noqa: E501
"""Corpus R: a freelance developer who carries house rules from one client's repo to the next.

Dana works for five clients in a month and restates the same rules of hers in each repo in
other words and shapes: an order in one ("nothing gets force-pushed"), a complaint in another
(about the last contractor's push --force), a reference back in a third ("same deal as on the
wickerbasket repo"), a passing condition in a fourth ("if you create a branch, ..."). Next to
them sit rules of one client that look like another client's but differ (tabs here, two
spaces there; squash merges here, merge commits there; PRs to develop here, to staging there;
another dev port; semicolons or none), which must stay with their client, and two rules she
first gives one client and later says hold everywhere. Project knowledge comes from the tools
(wp-env, composer, yarn, Maven, the Shopify CLI, the Angular CLI) and the agent's conclusions.

Five projects: a WooCommerce plugin (PHP, composer, wp-env), a Nuxt 3 site (yarn, vitest), a
Quarkus service (Maven, Flyway, Testcontainers), a Shopify theme (Liquid, shopify CLI) and an
Angular 17 app (npm, Karma). Written after A–Q without reading their sessions or memoryd's
extraction and consolidation code, and never run through memoryd before it was committed.
"""

from __future__ import annotations

from quality.model import (
    Corpus,
    Distractor,
    Fact,
    M,
    Patch,
    Project,
    Say,
    Session,
    Sh,
    Think,
    User,
)

# fmt: off
HOME = "/home/dana/clients"
PROJECTS = (
    Project("wickerbasket", f"{HOME}/wickerbasket", "git@github.com:wickerbasket-shop/wc-bundles.git"),
    Project("meadowlark", f"{HOME}/meadowlark", "git@gitlab.com:meadowlark-studio/site.git", "develop"),
    Project("ironbark", f"{HOME}/ironbark", "git@bitbucket.org:ironbark-logistics/invoicing.git"),
    Project("velvetmoth", f"{HOME}/velvetmoth", "git@github.com:velvetmoth-dk/theme.git", "staging"),
    Project("gristmill", f"{HOME}/gristmill", "git@github.com:gristmill-coop/portal.git"),
)

THEME_TOKEN = "shptka_9c1f3e7a2b8d4c6e0f1a3b5c7d9e2f4a"

# -- wickerbasket: a WooCommerce product-bundles plugin, PHP, composer, wp-env

WB1 = Session("wb1", "wickerbasket", 27.2, (
    User("New client, first session. Two house rules before you touch anything: nothing gets force-pushed here, the shop owner's nephew commits to this repo as well. And do your work on a branch called ds/<topic> so mine are easy to tell apart from his. The task: the bundle price shows without tax on the cart page."),
    Sh("git status -sb && git log --oneline -5", "## main...origin/main\n4f1c2aa Merge pull request #41 from jonas/fix-shipping-label\n9b0e7d1 Bundle: show savings badge\n2ce8a10 Bump WC tested-up-to 8.9\n71d9f3b Cart: round bundle totals\n0aa4c55 readme: screenshots"),
    Sh("git switch -c ds/bundle-cart-tax", "Switched to a new branch 'ds/bundle-cart-tax'"),
    Sh("grep -rn 'get_price_html\\|wc_get_price_excluding_tax' includes/ | head", "includes/class-wb-bundle-cart.php:88:        $price = wc_get_price_excluding_tax( $bundle, array( 'qty' => $qty ) );\nincludes/class-wb-bundle-product.php:142:    public function get_price_html( $deprecated = '' ) {"),
    Patch("*** Update File: includes/class-wb-bundle-cart.php\n@@\n-\t\t$price = wc_get_price_excluding_tax( $bundle, array( 'qty' => $qty ) );\n+\t\t$price = 'incl' === get_option( 'woocommerce_tax_display_cart' )\n+\t\t\t? wc_get_price_including_tax( $bundle, array( 'qty' => $qty ) )\n+\t\t\t: wc_get_price_excluding_tax( $bundle, array( 'qty' => $qty ) );"),
    User("Indentation is tabs in this plugin, WordPress coding standard, good that you kept them."),
    Say("The cart line now follows the shop's `woocommerce_tax_display_cart` setting instead of always showing the net price. The change is on `ds/bundle-cart-tax`, indented with tabs like the rest of the file."),
))

WB2 = Session("wb2", "wickerbasket", 23.2, (
    User("Let's get the coding-standard check running locally, the client's CI keeps failing on it and nobody knows why."),
    Sh("cat composer.json", '{\n    "name": "wickerbasket/wc-bundles",\n    "type": "wordpress-plugin",\n    "require": {\n        "php": ">=7.4"\n    },\n    "require-dev": {\n        "wp-coding-standards/wpcs": "^3.0",\n        "phpunit/phpunit": "^9.6",\n        "yoast/phpunit-polyfills": "^2.0"\n    },\n    "scripts": {\n        "lint": "phpcs --standard=phpcs.xml.dist"\n    }\n}'),
    Sh("composer install", "Installing dependencies from lock file (including require-dev)\nVerifying lock file contents can be installed on current platform.\nPackage operations: 14 installs, 0 updates, 0 removals\n  - Installing squizlabs/php_codesniffer (3.10.1): Extracting archive\n  - Installing wp-coding-standards/wpcs (3.1.0): Extracting archive\n  - Installing phpunit/phpunit (9.6.19): Extracting archive\nGenerating autoload files", 0, 9.4),
    Sh("vendor/bin/phpcs --standard=phpcs.xml.dist", 'ERROR: Referenced sniff "WordPress" does not exist.\n\nRun "phpcs --help" for usage information', 3, 1.1),
    Think("WPCS 3 is installed but phpcs does not know its path; the composer plugin that registers it is not in require-dev. Register the path on the phpcs config instead of adding a package."),
    Sh("vendor/bin/phpcs --config-set installed_paths vendor/wp-coding-standards/wpcs,vendor/phpcsstandards/phpcsutils,vendor/phpcsstandards/phpcsextra", "Using config file: /home/dana/clients/wickerbasket/vendor/squizlabs/php_codesniffer/CodeSniffer.conf\n\nConfig value \"installed_paths\" added successfully"),
    Sh("vendor/bin/phpcs --standard=phpcs.xml.dist", "\nFILE: includes/class-wb-bundle-cart.php\n----------------------------------------------------------------------\nFOUND 1 ERROR AFFECTING 1 LINE\n----------------------------------------------------------------------\n 91 | ERROR | Expected 1 space after \"?\"; 2 found\n----------------------------------------------------------------------\n\nTime: 812ms; Memory: 14MB", 2, 1.9),
    Patch("*** Update File: includes/class-wb-bundle-cart.php\n@@\n-\t\t\t?  wc_get_price_including_tax( $bundle, array( 'qty' => $qty ) )\n+\t\t\t? wc_get_price_including_tax( $bundle, array( 'qty' => $qty ) )"),
    Sh("vendor/bin/phpcs --standard=phpcs.xml.dist", "\nTime: 790ms; Memory: 14MB"),
    Say("phpcs stopped with `Referenced sniff \"WordPress\" does not exist` because WPCS was installed but never registered with PHP_CodeSniffer. `vendor/bin/phpcs --config-set installed_paths vendor/wp-coding-standards/wpcs,...` registers it; after fixing one spacing error the check is clean. composer.json also says the plugin still supports PHP 7.4 as its minimum."),
    User("Good. If composer.lock shows up in a diff of yours, it has to be composer that wrote it; lock files are not something anybody edits by hand. Next: the old domain is still in the product descriptions on staging, run a search-replace."),
    Say("I'd run `wp search-replace 'shop.wickerbasket.dk' 'wickerbasket.dk' --all-tables` in the wp-env CLI container."),
    User("Not like that. A search-replace that skips --dry-run first is how the client lost half their postmeta in 2021. Dry run, show me the counts, then we decide."),
    Sh("npx wp-env run cli wp search-replace 'shop.wickerbasket.dk' 'wickerbasket.dk' --all-tables --dry-run", "ℹ Starting 'wp search-replace shop.wickerbasket.dk wickerbasket.dk --all-tables --dry-run' on the cli container.\n\n+------------------+--------------+--------------+------+\n| Table            | Column       | Replacements | Type |\n+------------------+--------------+--------------+------+\n| wp_posts         | post_content | 37           | SQL  |\n| wp_postmeta      | meta_value   | 4            | PHP  |\n| wp_options       | option_value | 2            | PHP  |\n+------------------+--------------+--------------+------+\nSuccess: 43 replacements to be made.", 0, 6.2),
    Say("The dry run would make 43 replacements: 37 in post content, 4 serialized values in postmeta and 2 options. Nothing is written yet; say the word and I run it without `--dry-run`."),
))

WB3 = Session("wb3", "wickerbasket", 18.3, (
    User("The bundle discount should also apply when a customer adds the items one at a time. Write the fix and a test. As with the velvetmoth theme, the comments are written in English, not Danish, the nephew put Danish ones in last week."),
    Sh("grep -rn '//' includes/class-wb-bundle-discount.php | head -4", "includes/class-wb-bundle-discount.php:23:        // Rabatten gælder kun når hele pakken lægges i kurven.\nincludes/class-wb-bundle-discount.php:57:        // TODO ryd op"),
    Patch("*** Update File: includes/class-wb-bundle-discount.php\n@@\n-\t\t// Rabatten gælder kun når hele pakken lægges i kurven.\n-\t\tif ( ! $this->cart_has_bundle_added_at_once( $cart ) ) {\n+\t\t// The discount applies once every item of the bundle is in the cart, however it got there.\n+\t\tif ( ! $this->cart_contains_all_bundle_items( $cart ) ) {\n \t\t\treturn;\n \t\t}\n*** Add File: tests/test-bundle-discount.php\n+<?php\n+class Test_Bundle_Discount extends WP_UnitTestCase {\n+\tpublic function test_discount_applies_when_items_are_added_one_by_one() {\n+\t\t$bundle = wb_test_create_bundle( array( 'discount' => 10 ) );\n+\t\tforeach ( $bundle->get_item_ids() as $id ) {\n+\t\t\tWC()->cart->add_to_cart( $id );\n+\t\t}\n+\t\tWC()->cart->calculate_totals();\n+\t\t$this->assertEquals( -10.0, WC()->cart->get_fee_total() );\n+\t}\n+}"),
    User("Run the phpunit suite before you commit. Green first, commit after."),
    Sh("npx wp-env run tests-cli --env-cwd=wp-content/plugins/wickerbasket vendor/bin/phpunit", "ℹ Starting 'vendor/bin/phpunit' on the tests-cli container.\n\nPHPUnit 9.6.19 by Sebastian Bergmann and contributors.\n\n.............F.......                                             21 / 21 (100%)\n\nThere was 1 failure:\n\n1) Test_Bundle_Discount::test_discount_applies_when_items_are_added_one_by_one\nFailed asserting that 0.0 matches expected -10.0.\n\n/var/www/html/wp-content/plugins/wickerbasket/tests/test-bundle-discount.php:10\n\nFAILURES!\nTests: 21, Assertions: 58, Failures: 1.", 1, 11.6),
    Think("The fee hook runs on woocommerce_cart_calculate_fees but the method returns early when the bundle parent is missing; items added alone carry no parent key."),
    Patch("*** Update File: includes/class-wb-bundle-discount.php\n@@\n-\t\t$parent = $item['wb_bundle_parent'];\n+\t\t$parent = $item['wb_bundle_parent'] ?? wb_bundle_for_product( $item['product_id'] );"),
    Sh("npx wp-env run tests-cli --env-cwd=wp-content/plugins/wickerbasket vendor/bin/phpunit", "ℹ Starting 'vendor/bin/phpunit' on the tests-cli container.\n\nPHPUnit 9.6.19 by Sebastian Bergmann and contributors.\n\n.....................                                             21 / 21 (100%)\n\nTime: 00:04.911, Memory: 48.50 MB\n\nOK (21 tests, 59 assertions)", 0, 10.8),
    Sh("git add -A && git commit -m 'Bundle discount: apply when items are added one by one'", "[ds/bundle-cart-tax 3d8e21f] Bundle discount: apply when items are added one by one\n 2 files changed, 17 insertions(+), 3 deletions(-)\n create mode 100644 tests/test-bundle-discount.php"),
    Say("Items added one by one now get the bundle discount: the lookup falls back to the bundle a product belongs to when the cart item has no parent key. The Danish comment is now English, the new test passed with the other 20, and the commit is `3d8e21f`."),
    User("Before you suggest one for the next test: no mocking library either. A dependency I haven't seen yet is a conversation first, so ask."),
    Say("The test builds its data with WP_UnitTestCase's own factories; composer.json is unchanged."),
))

WB4 = Session("wb4", "wickerbasket", 13.2, (
    User("The shop wants a CSV of bundle orders for October. Whatever you generate stays outside the repo. Also, while you're in there: somebody committed .env in 2022 and the SMTP password was in the git history for a year. I don't want to see one in a commit again, check .gitignore covers it."),
    Sh("grep -n 'env' .gitignore", "3:.env.local"),
    Patch("*** Update File: .gitignore\n@@\n-.env.local\n+.env\n+.env.*\n+!.env.example"),
    Sh("npx wp-env run cli wp wc shop_order list --status=completed --after=2026-10-01 --before=2026-11-01 --fields=id,total,date_created --format=csv --user=admin > /tmp/wb-orders-export-7734.csv && wc -l /tmp/wb-orders-export-7734.csv", "213 /tmp/wb-orders-export-7734.csv", 0, 5.3),
    Sh("head -3 readme.txt && grep -n 'requires at least' wickerbasket.php", "=== Wickerbasket Bundles ===\nContributors: wickerbasket\nTags: woocommerce, bundles\n12: * WC requires at least: 8.5\n13: * WC tested up to: 8.9"),
    Say("The export has 212 completed October orders plus the header row; it is in /tmp, outside the repository. .gitignore now ignores `.env` and `.env.*` (keeping `.env.example`). From the plugin header: the plugin declares WooCommerce 8.5 as the lowest version it supports (`WC requires at least: 8.5`), tested up to 8.9."),
))

WB5 = Session("wb5", "wickerbasket", 8.1, (
    User("Set up the tests on my new laptop and run them. When you report back, paste the exact command you ran, I copy them into the invoice notes."),
    Sh("vendor/bin/phpunit", "PHP Warning:  require_once(/tmp/wordpress-tests-lib/includes/functions.php): Failed to open stream: No such file or directory in /home/dana/clients/wickerbasket/tests/bootstrap.php on line 14\nCould not find /tmp/wordpress-tests-lib/includes/functions.php, have you run bin/install-wp-tests.sh ?", 1, 0.6),
    Sh("npx wp-env start", "WordPress development site started at http://localhost:8888\nWordPress test site started at http://localhost:8889\nMySQL is listening on port 32771\nMySQL for automated testing is listening on port 32772\n\n ✔ Done! (in 71s 402ms)", 0, 71.4),
    Sh("npx wp-env run tests-cli --env-cwd=wp-content/plugins/wickerbasket vendor/bin/phpunit", "ℹ Starting 'vendor/bin/phpunit' on the tests-cli container.\n\nPHPUnit 9.6.19 by Sebastian Bergmann and contributors.\n\n.....................                                             21 / 21 (100%)\n\nTime: 00:05.204, Memory: 48.50 MB\n\nOK (21 tests, 59 assertions)", 0, 12.0),
    Say("Plain `vendor/bin/phpunit` fails on the host: the bootstrap wants the WordPress test library in /tmp/wordpress-tests-lib, which only exists inside wp-env's tests container. What I ran:\n\n- `npx wp-env start`\n- `npx wp-env run tests-cli --env-cwd=wp-content/plugins/wickerbasket vendor/bin/phpunit`\n\n21 tests pass. wp-env serves the development site on http://localhost:8888 and the separate test site on port 8889."),
    User("One wp-env container hangs on shutdown, its node process keeps the port."),
    Sh("lsof -ti :8888 && kill 48213", "48213"),
    Say("Killed the stuck process (pid 48213) that held port 8888; `npx wp-env stop` now returns cleanly."),
))

WB6 = Session("wb6", "wickerbasket", 2.1, (
    User("The client finally dropped PHP 7.4 hosting. Raise the minimum to 8.1 wherever it's declared."),
    Sh("grep -rn '7\\.4' composer.json wickerbasket.php readme.txt", 'composer.json:5:        "php": ">=7.4"\nwickerbasket.php:9: * Requires PHP: 7.4\nreadme.txt:6:Requires PHP: 7.4'),
    Patch('*** Update File: composer.json\n@@\n-        "php": ">=7.4"\n+        "php": ">=8.1"\n*** Update File: wickerbasket.php\n@@\n- * Requires PHP: 7.4\n+ * Requires PHP: 8.1\n*** Update File: readme.txt\n@@\n-Requires PHP: 7.4\n+Requires PHP: 8.1'),
    Sh("composer update --lock", "Loading composer repositories with package information\nUpdating dependencies\nNothing to modify in lock file\nWriting lock file\nInstalling dependencies from lock file (including require-dev)\nNothing to install, update or remove\nGenerating autoload files", 0, 3.7),
    Say("The plugin now requires PHP 8.1 (composer.json, the plugin header and readme.txt); PHP 7.4 is no longer supported. composer rewrote the lock file's content hash itself."),
), later=True)

# -- meadowlark: a Nuxt 3 site for a design studio, yarn 4, vitest, hosted on Netlify

ML1 = Session("ml1", "meadowlark", 26.1, (
    User("Hi! Meadowlark studio, the Nuxt site. Get it running locally first. A few things from their lead dev: two spaces indentation, and the dev server goes on 3001 because 3000 is their API mock. Plus from me: .env stays out of git, the sample values live in .env.example."),
    Sh("cat .nvmrc package.json | head -20", '20.11.1\n{\n  "name": "meadowlark-site",\n  "private": true,\n  "packageManager": "yarn@4.1.1",\n  "engines": { "node": ">=20.11" },\n  "scripts": {\n    "dev": "nuxt dev --port 3001",\n    "build": "nuxt build",\n    "test": "vitest run"\n  }\n}'),
    Sh("yarn install", "➤ YN0000: · Yarn 4.1.1\n➤ YN0000: ┌ Resolution step\n➤ YN0000: └ Completed\n➤ YN0000: ┌ Fetch step\n➤ YN0000: └ Completed in 2s 118ms\n➤ YN0000: ┌ Link step\n➤ YN0000: │ ESM support for PnP uses the experimental loader API and is therefore experimental\n➤ YN0000: └ Completed\nerror meadowlark-site@0.0.0: The engine \"node\" is incompatible with this module. Expected version \">=20.11\". Got \"18.19.0\"\n➤ YN0000: · Failed with errors in 3s 402ms", 1, 3.4),
    Sh("source ~/.nvm/nvm.sh && nvm use", "Found '/home/dana/clients/meadowlark/.nvmrc' with version <20.11.1>\nNow using node v20.11.1 (npm v10.2.4)"),
    Sh("source ~/.nvm/nvm.sh && nvm use >/dev/null && yarn install", "➤ YN0000: · Yarn 4.1.1\n➤ YN0000: ┌ Resolution step\n➤ YN0000: └ Completed\n➤ YN0000: ┌ Link step\n➤ YN0000: └ Completed in 1s 906ms\n➤ YN0000: · Done in 4s 77ms", 0, 4.1),
    Sh("git status --short", "?? .env"),
    Say("Installed. yarn refused at first because the shell had Node 18.19 and the package wants `>=20.11` (\"The engine node is incompatible\"); `nvm use` picks up the 20.11.1 from .nvmrc and then `yarn install` goes through. `yarn dev` serves on port 3001. The .env I created for local values is untracked and I won't stage it."),
    User("The yarn.lock conflict we had on the other branch came from someone patching that lockfile manually. Any change to it comes out of yarn itself, please."),
    Say("Understood: yarn.lock only changes through `yarn add`, `yarn up` or `yarn install`, never by editing it."),
))

ML2 = Session("ml2", "meadowlark", 22.5, (
    User("The contact form needs to post to their new API. Branching note from the lead dev: pull requests go to develop, main is what Netlify deploys. And before you reach for some form library: new dependencies go through me first, ask and tell me the install size."),
    Sh("grep -rn 'runtimeConfig' -A6 nuxt.config.ts", "nuxt.config.ts:14:  runtimeConfig: {\nnuxt.config.ts-15-    public: {\nnuxt.config.ts-16-      apiBase: '' // set by NUXT_PUBLIC_API_BASE\nnuxt.config.ts-17-    }\nnuxt.config.ts-18-  },"),
    Patch("*** Update File: components/ContactForm.vue\n@@\n-  await fetch('/api/contact', { method: 'POST', body: JSON.stringify(form) })\n+  const { public: { apiBase } } = useRuntimeConfig()\n+  await $fetch(`${apiBase}/contact`, { method: 'POST', body: form })"),
    Sh("git switch -c ds/contact-api && git add -A && git commit -m 'Contact form: post to the studio API'", "Switched to a new branch 'ds/contact-api'\n[ds/contact-api 6b02c4e] Contact form: post to the studio API\n 1 file changed, 2 insertions(+), 1 deletion(-)"),
    Sh("glab mr create --target-branch develop --title 'Contact form: post to the studio API' --fill --yes", "Creating merge request for ds/contact-api into develop in meadowlark-studio/site\n\n!27 Contact form: post to the studio API (ds/contact-api)\n https://gitlab.com/meadowlark-studio/site/-/merge_requests/27"),
    Say("The form posts to the studio API with `$fetch`, no new package needed. The base URL comes from runtime config: `runtimeConfig.public.apiBase` is filled from the NUXT_PUBLIC_API_BASE environment variable, so each environment sets that variable. Merge request !27 targets develop."),
    User("Nice. Commit messages without emoji, by the way, their changelog generator chokes on them."),
    Say("Noted, plain text commit messages."),
))

ML3 = Session("ml3", "meadowlark", 17.4, (
    User("Branch as usual, ds/ prefix like at wickerbasket. The lead dev wants the project page teaser tested, and their style has no semicolons in TS or Vue files, so drop the ones you add."),
    Sh("git switch -c ds/teaser-test", "Switched to a new branch 'ds/teaser-test'"),
    Patch("*** Add File: tests/ProjectTeaser.spec.ts\n+import { mountSuspended } from '@nuxt/test-utils/runtime'\n+import { describe, expect, it } from 'vitest'\n+import ProjectTeaser from '~/components/ProjectTeaser.vue'\n+\n+describe('ProjectTeaser', () => {\n+  it('links to the project page', async () => {\n+    const el = await mountSuspended(ProjectTeaser, { props: { slug: 'harbour-baths' } })\n+    expect(el.find('a').attributes('href')).toBe('/projects/harbour-baths')\n+  })\n+})"),
    Sh("yarn vitest run tests/ProjectTeaser.spec.ts", " FAIL  tests/ProjectTeaser.spec.ts > ProjectTeaser > links to the project page\nReferenceError: useRuntimeConfig is not defined\n ❯ components/ProjectTeaser.vue:12:22\n     10|\n     11| const props = defineProps<{ slug: string }>()\n     12| const { public: cfg } = useRuntimeConfig()\n       |                      ^\n\n Test Files  1 failed (1)\n      Tests  1 failed (1)", 1, 2.8),
    Think("The component uses Nuxt auto-imports; vitest runs in plain node. @nuxt/test-utils is installed, the vitest config just doesn't use its nuxt environment."),
    Sh("cat vitest.config.ts", "import { defineConfig } from 'vitest/config'\n\nexport default defineConfig({\n  test: {\n    environment: 'happy-dom'\n  }\n})"),
    Patch("*** Update File: vitest.config.ts\n@@\n-import { defineConfig } from 'vitest/config'\n+import { defineVitestConfig } from '@nuxt/test-utils/config'\n \n-export default defineConfig({\n+export default defineVitestConfig({\n   test: {\n-    environment: 'happy-dom'\n+    environment: 'nuxt'\n   }\n })"),
    Sh("yarn vitest run", " ✓ tests/ProjectTeaser.spec.ts (1 test) 412ms\n ✓ tests/slugify.spec.ts (4 tests) 6ms\n\n Test Files  2 passed (2)\n      Tests  5 passed (5)\n   Duration  3.07s", 0, 3.9),
    Sh("cat netlify.toml", '[build]\n  command = "yarn build"\n  publish = ".output/public"\n\n[build.environment]\n  NODE_VERSION = "20.11.1"\n\n[[redirects]]\n  from = "/work/*"\n  to = "/projects/:splat"\n  status = 301'),
    Say("The teaser test failed with `ReferenceError: useRuntimeConfig is not defined`: vitest ran the component without Nuxt's auto-imports. Switching vitest.config.ts to `defineVitestConfig` from @nuxt/test-utils with `environment: 'nuxt'` fixed it; all 5 tests pass. No semicolons in the new spec. netlify.toml shows the site is built and deployed by Netlify (`yarn build`, publishing .output/public)."),
))

ML4 = Session("ml4", "meadowlark", 10.2, (
    User("Morning! Back from the Aarhus meetup, great talks on view transitions. Today: npm audit shows a moderate vuln in a transitive dep of the image module. Also, the changelog entry thing I do for velvetmoth — do it everywhere from now on, this repo included: one line in CHANGELOG.md per change a visitor would notice."),
    Sh("yarn npm audit --recursive --severity moderate", "├─ postcss\n│  ├─ ID: 1094544\n│  ├─ Issue: PostCSS line return parsing error\n│  ├─ URL: https://github.com/advisories/GHSA-7fh5-64p2-3v2j\n│  ├─ Severity: moderate\n│  ├─ Vulnerable Versions: <8.4.31\n│  ├─ Tree Versions: 8.4.27\n│  └─ Dependents: @nuxt/image@npm:1.1.0", 1, 2.2),
    Say("The fast route is `npm audit fix --force`, which would bump whatever it needs."),
    User("No, --force jumps majors and this is a yarn repo anyway. Bump only what's needed."),
    Sh("yarn up -R postcss", "➤ YN0000: · Yarn 4.1.1\n➤ YN0000: ┌ Resolution step\n➤ YN0000: └ Completed in 0s 811ms\n➤ YN0000: ┌ Link step\n➤ YN0000: └ Completed\n➤ YN0000: · Done in 2s 340ms", 0, 2.4),
    Patch("*** Update File: CHANGELOG.md\n@@\n ## Unreleased\n+- Security: image pipeline uses postcss 8.4.31 or later."),
    Sh("yarn npm audit --recursive --severity moderate", "➤ YN0001: No audit suggestions", 0, 1.9),
    Say("postcss is resolved to a fixed 8.4 release through `yarn up -R postcss`; the audit is clean, no major version moved, and CHANGELOG.md has the line."),
))

ML5 = Session("ml5", "meadowlark", 1.8, (
    User("The studio moved hosting off Netlify to Cloudflare Pages last week. Update the repo so deploys go there."),
    Sh("git rm -q netlify.toml && cat wrangler.toml", 'name = "meadowlark-site"\npages_build_output_dir = ".output/public"\ncompatibility_date = "2026-11-20"'),
    Sh("yarn build && yarn wrangler pages deploy .output/public --project-name meadowlark-site --branch develop", "ℹ Building client...\n✔ Client built in 5921ms\n✔ Server built in 2104ms\n[nitro] ✔ Generated public .output/public\n✨ Success! Uploaded 148 files (2.31 sec)\n✨ Deployment complete! Take a peek over at https://4f2a9c1e.meadowlark-site.pages.dev", 0, 24.7),
    Say("Hosting switched over in the repo: netlify.toml is deleted, and shipping the studio site to Cloudflare Pages is `yarn build` followed by `yarn wrangler pages deploy .output/public --project-name meadowlark-site`. A first upload of 148 files succeeded as a preview on develop."),
), later=True)

# -- ironbark: a Quarkus invoicing service for a freight company, Maven, Flyway, PostgreSQL

IB1 = Session("ib1", "ironbark", 25.3, (
    User("Ironbark kickoff. Their conventions: Java indented with four spaces, checkstyle enforces it. Mine: no bare TODOs — a TODO carries its Jira ticket, like TODO(IRB-123). And if you think we need another dependency in the pom, check with me before adding it; the client pays an auditor per library. First job: find where the dev profile sets the HTTP port, their docs disagree."),
    Sh("grep -n 'port\\|datasource' src/main/resources/application.properties", "3:quarkus.http.port=8080\n4:%dev.quarkus.http.port=8081\n9:%prod.quarkus.datasource.jdbc.url=${DB_URL}\n10:%dev.quarkus.datasource.devservices.enabled=true"),
    Sh("./mvnw -q help:evaluate -Dexpression=quarkus.platform.version -DforceStdout", "3.8.4"),
    Say("application.properties sets `%dev.quarkus.http.port=8081`, so `./mvnw quarkus:dev` serves on 8081 while the packaged app uses 8080; the database in dev comes from Quarkus Dev Services (a throwaway PostgreSQL container). The project is on Quarkus 3.8.4."),
))

IB2 = Session("ib2", "ironbark", 21.4, (
    User("Ugh. The previous contractor did a push --force on develop in September and wiped two days of Tom's work; I will not be the next one, so neither will you. PRs here get squash-merged, one commit per ticket on main. Today: invoices need a due_at column, and timestamps go into Postgres as UTC — convert at the API edge, not in the repository layer."),
    Sh("ls src/main/resources/db/migration", "V1__init.sql\nV2__customers.sql\nV3__invoices.sql\nV4__invoice_lines.sql\nV5__currency.sql\nV6__payment_terms.sql"),
    Patch("*** Add File: src/main/resources/db/migration/V7__invoice_due_at.sql\n+ALTER TABLE invoice ADD COLUMN due_at TIMESTAMP WITH TIME ZONE;\n+UPDATE invoice SET due_at = (issued_at AT TIME ZONE 'UTC') + (payment_terms_days * INTERVAL '1 day');\n+CREATE INDEX invoice_due_at_idx ON invoice (due_at);"),
    Patch("*** Update File: src/main/java/dk/ironbark/invoicing/Invoice.java\n@@\n     @Column(name = \"issued_at\")\n     public OffsetDateTime issuedAt;\n+\n+    @Column(name = \"due_at\")\n+    public OffsetDateTime dueAt;"),
    Sh("./mvnw -q quarkus:dev -Dquarkus.console.enabled=false & sleep 40; curl -s localhost:8081/q/health/ready", '{\n    "status": "UP",\n    "checks": [\n        {\n            "name": "Database connections health check",\n            "status": "UP"\n        }\n    ]\n}', 0, 41.2),
    Say("Added V7__invoice_due_at.sql next to the six earlier Flyway migrations in src/main/resources/db/migration; Flyway applied it on dev start and the readiness check is UP. `due_at` is a `TIMESTAMP WITH TIME ZONE` filled from `issued_at` in UTC."),
))

IB3 = Session("ib3", "ironbark", 16.2, (
    User("You committed with a red build yesterday and their Jenkins mailed the whole team. From here on the tests pass locally before each commit, full stop. Also there's a System.out.println in InvoiceResource from your debugging; don't leave debug prints in code you hand over."),
    Sh("./mvnw test", "[INFO] Running dk.ironbark.invoicing.InvoiceRepositoryTest\n[ERROR] Tests run: 1, Failures: 0, Errors: 1, Skipped: 0, Time elapsed: 0.41 s <<< FAILURE! -- in dk.ironbark.invoicing.InvoiceRepositoryTest\n[ERROR] dk.ironbark.invoicing.InvoiceRepositoryTest -- Time elapsed: 0.41 s <<< ERROR!\njava.lang.RuntimeException: java.lang.IllegalStateException: Could not find a valid Docker environment. Please see logs and check configuration\n\tat io.quarkus.test.junit.QuarkusTestExtension.throwBootFailureException(QuarkusTestExtension.java:643)\n\tat org.testcontainers.dockerclient.DockerClientProviderStrategy.lambda$getFirstValidStrategy$7(DockerClientProviderStrategy.java:277)\n[INFO] BUILD FAILURE", 1, 18.3),
    Think("Dev Services need a Docker daemon; on this Mac it is colima, and it is stopped after the reboot."),
    Sh("colima start --cpu 2 --memory 4", "INFO[0000] starting colima\nINFO[0001] runtime: docker\nINFO[0019] starting ...                                   context=docker\nINFO[0024] done", 0, 24.1),
    Patch("*** Update File: src/main/java/dk/ironbark/invoicing/InvoiceResource.java\n@@\n     public Invoice get(@PathParam(\"id\") long id) {\n-        System.out.println(\"DEBUG invoice \" + id);\n         return Invoice.findByIdOptional(id).orElseThrow(NotFoundException::new);"),
    Sh("./mvnw test", "[INFO] Tests run: 23, Failures: 0, Errors: 0, Skipped: 0\n[INFO] ------------------------------------------------------------------------\n[INFO] BUILD SUCCESS\n[INFO] Total time:  47.902 s", 0, 48.0),
    Sh("git commit -am 'Invoice resource: drop debug output'", "[ds/invoice-due-at 1e9b7c3] Invoice resource: drop debug output\n 1 file changed, 1 deletion(-)"),
    Say("`./mvnw test` failed with `Could not find a valid Docker environment`: the tests start PostgreSQL through Testcontainers, and the Docker runtime (colima) was not running. After `colima start` all 23 tests pass; only then did I commit the removal of the println."),
))

IB4 = Session("ib4", "ironbark", 12.1, (
    User("Quarkus dev won't start since I rebased. If you write a comment while fixing it, make it English, the offshore team in Manila reads these. Keep the end-of-task summary short, three lines, I read it on my phone between clients."),
    Sh("./mvnw quarkus:dev", "2026-11-25 09:14:02,118 ERROR [io.qua.run.Application] (Quarkus Main Thread) Failed to start application: org.flywaydb.core.api.exception.FlywayValidateException: Validate failed: Migrations have failed validation\nMigration checksum mismatch for migration version 7\n-> Applied to database : 1519433812\n-> Resolved locally    : -204871736\nEither revert the changes to the migration, or run repair to update the schema history.", 1, 14.6),
    Sh("git log --oneline -3 -- src/main/resources/db/migration/V7__invoice_due_at.sql && git diff origin/develop -- src/main/resources/db/migration/V7__invoice_due_at.sql | head -8", "a41d2e0 V7: index name\n3c77b90 Invoices: due_at column\n-CREATE INDEX invoice_due_at_idx ON invoice (due_at);\n+CREATE INDEX idx_invoice_due_at ON invoice (due_at);"),
    Say("Commit a41d2e0 changed V7 after your local database had already run it (the index got a new name), so the stored and local checksums differ. Quickest way out: `./mvnw flyway:repair`, which rewrites the schema history to match the edited file."),
    User("No repair, that hides the drift on every other dev's database. Put V7 back as it was applied and rename the index in a new migration."),
    Sh("git restore --source=origin/develop src/main/resources/db/migration/V7__invoice_due_at.sql", ""),
    Patch("*** Add File: src/main/resources/db/migration/V8__rename_invoice_due_at_index.sql\n+-- Renames the index created in V7; V7 itself stays as applied so its checksum matches.\n+ALTER INDEX invoice_due_at_idx RENAME TO idx_invoice_due_at;"),
    Sh("./mvnw quarkus:dev -Dquarkus.console.enabled=false & sleep 40; curl -s -o /dev/null -w '%{http_code}' localhost:8081/q/health/ready", "200", 0, 41.0),
    Say("- Flyway refused to start: checksum mismatch for V7, edited after it was applied.\n- `git restore` put V7 back; new V8 renames the index.\n- Dev starts, health 200."),
))

IB5 = Session("ib5", "ironbark", 7.3, (
    User("Which Java does the build target? The client's ops asked."),
    Sh("grep -n 'maven.compiler.release\\|<java.version>' pom.xml && ./mvnw -v | head -3", "14:    <maven.compiler.release>17</maven.compiler.release>\nApache Maven 3.9.6 (bc0240f3c744dd6b6ec2920b3cd08dcc295161ae)\nMaven home: /home/dana/.m2/wrapper/dists/apache-maven-3.9.6\nJava version: 17.0.10, vendor: Eclipse Adoptium"),
    Say("Java 17 is the target: `maven.compiler.release` in pom.xml says 17, and on this laptop the wrapper happens to run under Temurin 17.0.10 as well, so ops can keep their 17 base image."),
))

IB6 = Session("ib6", "ironbark", 1.5, (
    User("Ops upgraded the runtime images. Move the build to 21."),
    Patch("*** Update File: pom.xml\n@@\n-    <maven.compiler.release>17</maven.compiler.release>\n+    <maven.compiler.release>21</maven.compiler.release>"),
    Sh("./mvnw -q verify", "[INFO] Tests run: 25, Failures: 0, Errors: 0, Skipped: 0\n[INFO] BUILD SUCCESS", 0, 61.5),
    Say("The service now builds for Java 21 (`maven.compiler.release` 21, replacing 17); `./mvnw verify` passes with all 25 tests."),
), later=True)

# -- velvetmoth: a Shopify theme for a Danish knitwear shop, Liquid, shopify CLI

VM1 = Session("vm1", "velvetmoth", 24.4, (
    User("Velvetmoth, the knitwear shop. Same deal as on the wickerbasket repo: no force pushing, not even on your own branch once I've looked at it. Pull requests go to staging; main is the live theme and only the owner merges there. Code comments in English please, even though the shop and its customers are Danish. First: the size chart block renders twice on the product page."),
    Sh("grep -rn 'size-chart' sections/ snippets/ | head", "sections/main-product.liquid:88:        {%- render 'size-chart', product: product -%}\nsections/main-product.liquid:131:      {%- when 'size_chart' -%}\nsections/main-product.liquid:132:        {%- render 'size-chart', product: product -%}"),
    Patch("*** Update File: sections/main-product.liquid\n@@\n-        {%- render 'size-chart', product: product -%}\n+        {%- comment -%} The size chart is rendered by its own block below (size_chart). {%- endcomment -%}"),
    Sh("git switch -c ds/size-chart-once && git commit -qam 'Product page: render the size chart once' && gh pr create --base staging --fill", "Switched to a new branch 'ds/size-chart-once'\nhttps://github.com/velvetmoth-dk/theme/pull/63"),
    Say("The chart was rendered once hard-coded and once as the `size_chart` block; the hard-coded call is gone, with an English comment saying why. PR #63 targets staging."),
))

VM2 = Session("vm2", "velvetmoth", 19.5, (
    User("Two complaints first. There's a TODO in hero.liquid with nothing attached — I can't bill a TODO nobody can trace, put the issue number on it. And the shop owner asked what changed last month and I had nothing to show: each change the merchant can see gets a line in CHANGELOG.md. Then preview the hero fix on the dev store."),
    Sh("grep -n 'TODO' sections/hero.liquid", "17:  {%- comment -%} TODO: lazy-load the second slide {%- endcomment -%}"),
    Patch("*** Update File: sections/hero.liquid\n@@\n-  {%- comment -%} TODO: lazy-load the second slide {%- endcomment -%}\n+  {%- comment -%} TODO(#58): lazy-load the second slide {%- endcomment -%}\n*** Update File: CHANGELOG.md\n@@\n ## Unreleased\n+- Hero: the second slide no longer jumps while its image loads."),
    Sh("cat shopify.theme.toml", '[environments.development]\nstore = "vmoth-dev.myshopify.com"\ntheme = "154778632376"\n\n[environments.staging]\nstore = "velvetmoth.myshopify.com"\ntheme = "151902457912"'),
    Sh("shopify theme dev -e development", "╭─ success ───────────────────────────────────────────────╮\n│                                                         │\n│  Preview your theme (t)                                 │\n│    • http://127.0.0.1:9292                              │\n│                                                         │\n│  Share your theme preview (p)                           │\n│    https://vmoth-dev.myshopify.com/?preview_theme_id=…  │\n│                                                         │\n╰─────────────────────────────────────────────────────────╯", 0, 9.0),
    Say("The TODO now points at issue #58 and CHANGELOG.md has a line for the hero change. Previews run against the development store vmoth-dev.myshopify.com (shopify.theme.toml, environment `development`); staging is the real store's unpublished theme."),
))

VM3 = Session("vm3", "velvetmoth", 14.4, (
    User("The client's agency left a pile of unused snippets. Find them. Before deleting any file, ask: a theme has no undo once it's pushed. Like on the meadowlark job: run it by me before any new npm dependency lands in package.json, the linting setup already pulls in plenty."),
    Sh("theme-check .", "bash: theme-check: command not found", 127, 0.1),
    Think("The standalone Ruby theme-check gem is gone; Shopify CLI 3 bundles it as a subcommand."),
    Sh("shopify theme check --fail-level error --output text", "snippets/badge-old.liquid: UnusedSnippet: This snippet is not used\nsnippets/price-legacy.liquid: UnusedSnippet: This snippet is not used\nsnippets/swatch-v1.liquid: UnusedSnippet: This snippet is not used\n\n83 files inspected, 3 offenses detected, 0 errors", 0, 6.8),
    Say("`theme-check .` is not installed here (command not found); `shopify theme check` runs the same checks through the Shopify CLI. It reports three unused snippets: badge-old, price-legacy and swatch-v1. I haven't deleted anything: shall I remove those three?"),
    User("Yes, those three can go."),
    Patch("*** Delete File: snippets/badge-old.liquid\n*** Delete File: snippets/price-legacy.liquid\n*** Delete File: snippets/swatch-v1.liquid"),
    Say("Removed the three snippets; the theme check reports no offenses now."),
))

VM4 = Session("vm4", "velvetmoth", 9.4, (
    User("Push my local theme to the staging theme, CI's broken today."),
    Sh("env | grep SHOPIFY", "SHOPIFY_FLAG_STORE=velvetmoth.myshopify.com\nSHOPIFY_CLI_THEME_TOKEN=" + THEME_TOKEN),
    Sh("shopify theme push -e staging --nodelete", "Error: You are not authorized to edit themes on velvetmoth.myshopify.com.\nThe theme access password does not have the write_themes scope.", 1, 2.7),
    Sh("shopify theme push -e staging --nodelete --password \"$SHOPIFY_CLI_THEME_TOKEN\"", "Error: You are not authorized to edit themes on velvetmoth.myshopify.com.", 1, 2.2),
    Say("The theme access password in your shell lacks the `write_themes` scope, so the CLI may not write to the staging theme; that needs a new password from the shop owner in the Theme Access app. Nothing was pushed."),
    User("Bah. OK, I'll mail the shop owner for a new password tonight; park the push until then."),
))

VM5 = Session("vm5", "velvetmoth", 5.1, (
    User("The new lookbook section won't upload. While you're at it: if you spot a {{ product | json }} debug dump left in any template, remove it before the push, last time a customer saw one."),
    Sh("shopify theme push -e development --only sections/lookbook.liquid", "Error: sections/lookbook.liquid\n  Liquid syntax error (line 41): 'schema' tag was never closed", 1, 3.0),
    Sh("tail -5 sections/lookbook.liquid && grep -rn '| json' sections/ snippets/ | grep -v schema", '    { "type": "image_picker", "id": "image", "label": "Image" }\n  ],\n  "presets": [{ "name": "Lookbook" }]\n}\n\nsections/lookbook.liquid:12:  <pre>{{ product | json }}</pre>'),
    Patch("*** Update File: sections/lookbook.liquid\n@@\n-  <pre>{{ product | json }}</pre>\n@@\n   \"presets\": [{ \"name\": \"Lookbook\" }]\n }\n+{% endschema %}"),
    Sh("cat .shopifyignore", "config/settings_data.json\nlocales/*.draft.json"),
    Sh("shopify theme push -e development --only sections/lookbook.liquid", "╭─ success ───────────────────────────────────────╮\n│  The theme was pushed successfully.             │\n╰─────────────────────────────────────────────────╯", 0, 3.4),
    Say("The section ended without `{% endschema %}`, hence \"'schema' tag was never closed\"; adding the closing tag fixed the upload. I also removed a `{{ product | json }}` debug dump on line 12. Pushes leave the merchant's theme settings alone because .shopifyignore excludes config/settings_data.json."),
))

# -- gristmill: an Angular 17 member portal for a farming co-op, npm, Karma, Cypress

GM1 = Session("gm1", "gristmill", 20.6, (
    User("Gristmill portal, Angular. Run it: ng serve on 4300, the co-op's SSO callback is registered for that port only. If you create a branch, start its name with ds/ so their people know it's mine. console.log while you dig is fine, strip the debug lines before you hand anything over. The members list is empty locally."),
    Sh("cat proxy.conf.json", '{\n  "/api": {\n    "target": "http://localhost:5005",\n    "secure": false,\n    "changeOrigin": true\n  }\n}'),
    Sh("curl -s -o /dev/null -w '%{http_code}' localhost:5005/api/members", "000"),
    Sh("docker compose up -d api && sleep 5 && curl -s localhost:5005/api/members | head -c 80", ' Container gristmill-api-1  Started\n[{"id":"m-0001","name":"Hansen Agro","since":"2011-03-01T00:00:00Z"},{"id":', 0, 8.2),
    Sh("git switch -c ds/members-empty-state", "Switched to a new branch 'ds/members-empty-state'"),
    Say("The list was empty because nothing answered the dev proxy: proxy.conf.json forwards `/api` to the backend on localhost:5005, and that container was down. After `docker compose up -d api` the members load; `npx ng serve --port 4300` serves the app."),
))

GM2 = Session("gm2", "gristmill", 15.5, (
    User("Same as at meadowlark: lockfile changes come from npm, nobody hand-edits package-lock.json. And heads up, if a .env shows up in git status, it does not get committed, add it to .gitignore. Their merges: don't squash here, the co-op's release tooling reads the merge commits. Now run the unit tests, they're failing for me."),
    Sh("npx ng test --watch=false", "- Generating browser application bundles (phase: setup)...\n✔ Browser application bundle generation complete.\n07 12 2026 10:02:11.418:INFO [karma-server]: Karma v6.4.2 server started at http://localhost:9876/\n07 12 2026 10:02:11.420:INFO [launcher]: Launching browsers ChromeHeadless with concurrency unlimited\n07 12 2026 10:02:11.425:ERROR [launcher]: No binary for ChromeHeadless browser on your platform.\n  Please, set \"CHROME_BIN\" env variable.", 1, 9.7),
    Sh("which chromium", "/usr/bin/chromium"),
    Sh("CHROME_BIN=/usr/bin/chromium npx ng test --watch=false --browsers=ChromeHeadless", "✔ Browser application bundle generation complete.\nChrome Headless 120.0.6099.224 (Linux x86_64): Executed 64 of 64 SUCCESS (2.911 secs / 2.604 secs)\nTOTAL: 64 SUCCESS", 0, 14.2),
    Sh("git status --short", " M src/app/members/members.component.ts\n?? .env"),
    Patch("*** Update File: .gitignore\n@@\n /node_modules\n+.env"),
    Say("Karma could not find a Chrome binary (`No binary for ChromeHeadless browser`); with `CHROME_BIN=/usr/bin/chromium` all 64 tests pass. .env is now ignored instead of committed."),
))

GM3 = Session("gm3", "gristmill", 11.3, (
    User("The production build is failing in their pipeline. Whenever you're about to commit, the unit tests go first, you know that by now. And that UTC rule from ironbark, timestamps stored and sent in UTC: make it everywhere, all my clients, this one included."),
    Sh("npx ng build --configuration production", "✘ [ERROR] bundle initial exceeded maximum budget. Budget 1.00 MB was not met by 212.34 kB with a total of 1.21 MB.\n\nApplication bundle generation failed. [18.402 seconds]", 1, 18.4),
    Sh("grep -n 'reports' src/app/app.routes.ts", "4:import { ReportsComponent } from './reports/reports.component';\n19:  { path: 'reports', component: ReportsComponent },"),
    Patch("*** Update File: src/app/app.routes.ts\n@@\n-import { ReportsComponent } from './reports/reports.component';\n@@\n-  { path: 'reports', component: ReportsComponent },\n+  { path: 'reports', loadChildren: () => import('./reports/reports.routes').then(m => m.REPORTS_ROUTES) },"),
    Sh("npx ng build --configuration production", "Initial chunk files   | Names         |  Raw size | Estimated transfer size\nmain-5TQKMXQY.js      | main          | 688.41 kB |               168.20 kB\npolyfills-RX4V3R2Q.js | polyfills     |  33.71 kB |                11.02 kB\n\nLazy chunk files      | Names         |  Raw size | Estimated transfer size\nchunk-Z7C2MP4A.js     | reports-routes| 502.87 kB |               121.66 kB\n\nApplication bundle generation complete. [17.011 seconds]", 0, 17.0),
    Sh("CHROME_BIN=/usr/bin/chromium npx ng test --watch=false --browsers=ChromeHeadless && git commit -qam 'Routes: lazy-load reports' && cat cypress.config.ts | head -6", "TOTAL: 64 SUCCESS\nimport { defineConfig } from 'cypress'\n\nexport default defineConfig({\n  e2e: {\n    baseUrl: 'http://localhost:4300',", 0, 15.5),
    Say("The initial bundle was 1.21 MB, over the 1.00 MB budget. Loading the reports routes lazily with `loadChildren` moved 500 kB into its own chunk and the production build passes; unit tests were green before the commit. The end-to-end tests run with Cypress against localhost:4300 (cypress.config.ts)."),
    User("I saw you rebased the branch to tidy it. Fine while it lives only on your disk; once GitHub has it, the history stays as it is, no force push to fix it up."),
    Say("The rebase happened before the first push, so nothing on GitHub was rewritten. Later corrections go on top as new commits."),
))

GM4 = Session("gm4", "gristmill", 6.2, (
    User("Same TODO thing as ironbark: if it's a TODO, it has an issue number. The co-op also uses semicolons at the end of every statement, their eslint config needs them, keep adding them. Then the member import: scripts/import-members.ts has a --dry-run flag, use it before the real thing, like we did for the search-replace at the WordPress shop."),
    Sh("grep -rn 'TODO' src/app | head", "src/app/members/import.service.ts:31:    // TODO handle duplicate member numbers"),
    Patch("*** Update File: src/app/members/import.service.ts\n@@\n-    // TODO handle duplicate member numbers\n+    // TODO(#112): handle duplicate member numbers\n+    const seen = new Set<string>();"),
    Sh("npx tsx scripts/import-members.ts --file ~/Downloads/members-2026.csv --dry-run", "[dry-run] parsed 1,482 rows\n[dry-run] 1,437 unchanged, 41 updated, 4 new\n[dry-run] 0 rows rejected\nnothing written (dry run)", 0, 4.4),
    Say("Dry run of the import: 1,482 rows, 41 updates and 4 new members, nothing rejected and nothing written. The TODO in import.service.ts now names issue #112. Say when to run it for real."),
    User("Good. Run it for real."),
    Sh("npx tsx scripts/import-members.ts --file ~/Downloads/members-2026.csv", "parsed 1,482 rows\n1,437 unchanged, 41 updated, 4 new\ndone in 3.1s", 0, 3.6),
    Say("Imported: 41 members updated and 4 added."),
))

GM5 = Session("gm5", "gristmill", 1.1, (
    User("The co-op's new frontend lead ripped out Cypress, e2e is Playwright now. Get the e2e suite running again."),
    Sh("git log --oneline -1 && ls e2e/ && cat playwright.config.ts | head -8", "8c0d51a e2e: move from Cypress to Playwright\nmembers.spec.ts\nlogin.spec.ts\nimport { defineConfig } from '@playwright/test';\n\nexport default defineConfig({\n  testDir: './e2e',\n  use: { baseURL: 'http://localhost:4300' },"),
    Sh("npx playwright test", "Running 9 tests using 2 workers\n\n  9 passed (21.4s)", 0, 22.8),
    Say("The end-to-end tests now run with Playwright (`npx playwright test`, specs in e2e/); Cypress is gone. All 9 pass against localhost:4300."),
), later=True)

SESSIONS = (
    WB1, WB2, WB3, WB4, WB5, WB6,
    ML1, ML2, ML3, ML4, ML5,
    IB1, IB2, IB3, IB4, IB5, IB6,
    VM1, VM2, VM3, VM4, VM5,
    GM1, GM2, GM3, GM4, GM5,
)

FACTS = (
    # -- house rules Dana carries from client to client, in other words in each repo
    Fact("r.gen.force_push", "general_rule", None, "Never force-push a branch someone else may have pulled, not even your own once it has been reviewed.", M("force-push|force-pushed|force push|force pushing|force-pushing|push --force"), ("wb1", "ib2", "vm1", "gm3")),
    Fact("r.gen.lockfile", "general_rule", None, "Lock files change only through the package manager; nobody edits them by hand.", M("lock file|lock files|lockfile|lockfiles", "hand|manually"), ("wb2", "ml1", "gm2")),
    Fact("r.gen.ask_dependency", "general_rule", None, "Ask before adding any new dependency.", M("dependency|dependencies", "ask|check with me|run it by me"), ("ml2", "ib1", "vm3", "wb3")),
    Fact("r.gen.tests_before_commit", "general_rule", None, "Run the tests and see them pass before every commit.", M("test|tests|suite", "commit|commits|committing"), ("wb3", "ib3", "gm3")),
    Fact("r.gen.branch_prefix", "general_rule", None, "Work on branches named ds/<topic> so Dana's branches stand apart from the client's.", M("ds/"), ("wb1", "ml3", "gm1")),
    Fact("r.gen.todo_ticket", "general_rule", None, "Every TODO comment carries its ticket or issue number, e.g. TODO(#112).", M("TODO|TODOs", "ticket|issue number|issue"), ("ib1", "vm2", "gm4")),
    Fact("r.gen.no_env", "general_rule", None, "Keep .env files out of git: ignore them, do not commit them.", M(".env", "commit|commits|committed|git"), ("ml1", "gm2", "wb4")),
    Fact("r.gen.english_comments", "general_rule", None, "Write code comments in English, even for Danish clients.", M("English", "comment|comments"), ("vm1", "wb3", "ib4")),
    Fact("r.gen.utc", "general_rule", None, "Store and send timestamps in UTC; convert only at the edges.", M("UTC", "timestamp|timestamps"), ("ib2", "gm3")),
    Fact("r.gen.changelog", "general_rule", None, "Every user-visible change gets a line in CHANGELOG.md.", M("changelog", "line|entry|entries"), ("vm2", "ml4")),
    Fact("r.gen.dry_run", "general_rule", None, "Do a dry run first of anything that rewrites data (search-replace, imports).", M("dry run|dry-run"), ("wb2", "gm4")),
    Fact("r.gen.no_debug", "general_rule", None, "Remove debug output (prints, console.log, json dumps) before handing work over.", M("debug", "remove|strip|leave|left"), ("gm1", "ib3", "vm5")),
    # -- rules of one client that look like another client's but differ
    Fact("r.wb.tabs", "project_rule", "wickerbasket", "Indent with tabs (WordPress coding standard).", M("tabs", "indent|indentation|indented"), ("wb1",)),
    Fact("r.ml.two_spaces", "project_rule", "meadowlark", "Indent with two spaces.", M("two spaces|2 spaces", "indent|indentation|indented"), ("ml1",)),
    Fact("r.ib.four_spaces", "project_rule", "ironbark", "Java is indented with four spaces (checkstyle enforces it).", M("four spaces|4 spaces", "indent|indentation|indented"), ("ib1",)),
    Fact("r.ib.squash", "project_rule", "ironbark", "PRs are squash-merged: one commit per ticket on main.", M("squash", "PR|PRs|pull request|pull requests|main"), ("ib2",)),
    Fact("r.gm.merge_commits", "project_rule", "gristmill", "Do not squash: keep the merge commits, the release tooling reads them.", M("squash", "merge commit|merge commits"), ("gm2",)),
    Fact("r.ml.develop", "project_rule", "meadowlark", "Pull requests target develop; main is what gets deployed.", M("develop", "PR|PRs|pull request|pull requests|merge request|merge requests"), ("ml2",)),
    Fact("r.vm.staging", "project_rule", "velvetmoth", "Pull requests target staging; main is the live theme and only the owner merges there.", M("staging", "PR|PRs|pull request|pull requests"), ("vm1",)),
    Fact("r.ml.port", "project_rule", "meadowlark", "The dev server runs on port 3001 (3000 is the API mock).", M("3001"), ("ml1",)),
    Fact("r.gm.port", "project_rule", "gristmill", "Serve the app on port 4300: ng serve --port 4300 (the SSO callback is registered for it).", M("4300"), ("gm1",)),
    Fact("r.ml.no_semicolons", "project_rule", "meadowlark", "No semicolons in TS or Vue files.", M("semicolons", "no|without|drop"), ("ml3",)),
    Fact("r.gm.semicolons", "project_rule", "gristmill", "End every statement with a semicolon; the eslint config needs semicolons.", M("semicolons", "every|keep|need|needs"), ("gm4",)),
    # -- how Dana wants the agent to work, said once
    Fact("r.pref.short_summary", "preference", None, "Keep end-of-task summaries short, about three lines.", M("short|brief", "summary|summaries"), ("ib4",)),
    Fact("r.pref.ask_delete", "preference", None, "Ask before deleting any file.", M("ask", "delete|deleting"), ("vm3",)),
    Fact("r.pref.exact_command", "preference", None, "When reporting back, paste the exact commands that were run.", M("exact command|exact commands"), ("wb5",)),
    Fact("r.pref.no_emoji", "preference", None, "No emoji in commit messages.", M("emoji|emojis", "commit|commits"), ("ml2",)),
    # -- knowledge from tool output and the agent's conclusions
    Fact("r.wb.test_site", "project_fact", "wickerbasket", "wp-env serves the test site on port 8889 (the development site on 8888).", M("8889"), ("wb5",)),
    Fact("r.wb.wc_min", "project_fact", "wickerbasket", "The plugin requires WooCommerce 8.5 or later (tested up to 8.9).", M("WooCommerce|WC", "8.5"), ("wb4",)),
    Fact("r.wb.php74", "project_fact", "wickerbasket", "The plugin's minimum PHP version is 7.4 (composer.json).", M("PHP", "7.4"), ("wb2",), superseded_by="r.wb.php81"),
    Fact("r.ml.api_base", "project_fact", "meadowlark", "The API base URL comes from NUXT_PUBLIC_API_BASE (runtimeConfig.public.apiBase).", M("NUXT_PUBLIC_API_BASE"), ("ml2",)),
    Fact("r.ml.netlify", "project_fact", "meadowlark", "The site is built and deployed by Netlify (netlify.toml).", M("Netlify", "deploy|deploys|deployed|build|builds|built"), ("ml3",), superseded_by="r.ml.pages"),
    Fact("r.ib.dev_port", "project_fact", "ironbark", "In dev mode (quarkus:dev) the service listens on 8081, the packaged app on 8080.", M("8081"), ("ib1",)),
    Fact("r.ib.migrations", "project_fact", "ironbark", "Flyway migrations live in src/main/resources/db/migration as V<n>__name.sql.", M("db/migration"), ("ib2",)),
    Fact("r.ib.java17", "project_fact", "ironbark", "The build targets Java 17 (maven.compiler.release).", M("Java|JDK", "17"), ("ib5",), superseded_by="r.ib.java21"),
    Fact("r.vm.dev_store", "project_fact", "velvetmoth", "Theme previews run against the development store vmoth-dev.myshopify.com (shopify.theme.toml).", M("vmoth-dev.myshopify.com"), ("vm2",)),
    Fact("r.vm.shopifyignore", "project_fact", "velvetmoth", ".shopifyignore excludes config/settings_data.json, so pushes keep the merchant's settings.", M(".shopifyignore", "settings_data.json"), ("vm5",)),
    Fact("r.gm.proxy", "project_fact", "gristmill", "The dev proxy (proxy.conf.json) forwards /api to the backend on localhost:5005.", M("proxy.conf.json|proxy", "5005"), ("gm1",)),
    Fact("r.gm.cypress", "project_fact", "gristmill", "End-to-end tests run with Cypress (cypress.config.ts).", M("Cypress", "e2e|end-to-end"), ("gm3",), superseded_by="r.gm.playwright"),
    # -- failures and the other command or edit that fixed them
    Fact("r.wb.fix_wp_env_tests", "failure_fix", "wickerbasket", "vendor/bin/phpunit on the host fails for lack of /tmp/wordpress-tests-lib: run the tests inside wp-env with npx wp-env run tests-cli --env-cwd=<plugin dir> vendor/bin/phpunit.", M("wp-env run tests-cli"), ("wb5",), link=M("wordpress-tests-lib")),
    Fact("r.wb.fix_phpcs", "failure_fix", "wickerbasket", "phpcs 'Referenced sniff \"WordPress\" does not exist': register WPCS with vendor/bin/phpcs --config-set installed_paths vendor/wp-coding-standards/wpcs,...", M("installed_paths"), ("wb2",), link=M("Referenced sniff")),
    Fact("r.ml.fix_nvm", "failure_fix", "meadowlark", "yarn install fails with 'The engine node is incompatible' on Node 18: run nvm use (Node 20.11.1 from .nvmrc) first.", M("nvm use"), ("ml1",), link=M("incompatible")),
    Fact("r.ml.fix_vitest_env", "failure_fix", "meadowlark", "vitest 'ReferenceError: useRuntimeConfig is not defined': use defineVitestConfig from @nuxt/test-utils with environment: 'nuxt' in vitest.config.ts.", M("defineVitestConfig|environment: 'nuxt'"), ("ml3",), link=M("useRuntimeConfig")),
    Fact("r.ib.fix_colima", "failure_fix", "ironbark", "./mvnw test fails with 'Could not find a valid Docker environment' (Testcontainers): run colima start first.", M("colima start"), ("ib3",), link=M("Docker environment")),
    Fact("r.ib.fix_restore_v7", "failure_fix", "ironbark", "Flyway 'checksum mismatch for migration version 7' after an applied migration was edited: git restore the applied V7 file and make the change in a new V8 migration.", M("git restore", "V7__invoice_due_at.sql|V7"), ("ib4",), link=M("checksum")),
    Fact("r.vm.fix_theme_check", "failure_fix", "velvetmoth", "theme-check: command not found; run shopify theme check instead.", M("shopify theme check"), ("vm3",), link=M("command not found|not found|not installed")),
    Fact("r.vm.fix_endschema", "failure_fix", "velvetmoth", "A section upload fails with \"'schema' tag was never closed\": close the schema with {% endschema %}.", M("endschema"), ("vm5",), link=M("never closed")),
    Fact("r.gm.fix_chrome_bin", "failure_fix", "gristmill", "ng test 'No binary for ChromeHeadless': set CHROME_BIN=/usr/bin/chromium and run npx ng test --watch=false --browsers=ChromeHeadless.", M("CHROME_BIN"), ("gm2",), link=M("ChromeHeadless")),
    Fact("r.gm.fix_lazy_reports", "failure_fix", "gristmill", "Production build 'exceeded maximum budget': lazy-load the reports routes with loadChildren.", M("loadChildren"), ("gm3",), link=M("budget")),
    # -- what the later sessions state in place of older facts
    Fact("r.wb.php81", "superseding", "wickerbasket", "The plugin requires PHP 8.1 or later.", M("PHP", "8.1"), ("wb6",)),
    Fact("r.ml.pages", "superseding", "meadowlark", "The site deploys to Cloudflare Pages: yarn build, then yarn wrangler pages deploy .output/public.", M("Cloudflare Pages|wrangler"), ("ml5",)),
    Fact("r.ib.java21", "superseding", "ironbark", "The build targets Java 21 (maven.compiler.release).", M("Java|JDK", "21"), ("ib6",)),
    Fact("r.gm.playwright", "superseding", "gristmill", "End-to-end tests run with Playwright: npx playwright test, specs in e2e/.", M("Playwright", "e2e|end-to-end"), ("gm5",)),
)

DISTRACTORS = (
    Distractor("r.noise.pid", "transient", "the pid of a stuck wp-env process", M("48213"), ("wb5",)),
    Distractor("r.noise.export", "transient", "a one-off export file in /tmp", M("wb-orders-export-7734"), ("wb4",)),
    Distractor("r.noise.preview", "transient", "one preview deployment's hash", M("4f2a9c1e"), ("ml5",)),
    Distractor("r.noise.theme_token", "secret", "a theme access password printed by env", M(THEME_TOKEN), ("vm4",)),
    Distractor("r.noise.meetup", "small_talk", "the meetup Dana came back from", M("Aarhus", "meetup"), ("ml4",)),
    Distractor("r.noise.audit_force", "rejected", "npm audit fix --force, which Dana turned down", M("audit fix", "--force"), ("ml4",), negatable=True),
    Distractor("r.noise.flyway_repair", "rejected", "flyway:repair to accept an edited migration, turned down", M("flyway:repair"), ("ib4",), negatable=True),
)

# For the next round: project rules that look like another client's rule and must stay apart,
# and the rules first given to one client and later declared to hold everywhere.
LOOKALIKES = (
    ("r.wb.tabs", "r.ml.two_spaces"),
    ("r.ml.two_spaces", "r.ib.four_spaces"),
    ("r.ib.squash", "r.gm.merge_commits"),
    ("r.ml.develop", "r.vm.staging"),
    ("r.ml.port", "r.gm.port"),
    ("r.ml.no_semicolons", "r.gm.semicolons"),
)
EVERYWHERE = ("r.gen.utc", "r.gen.changelog")

CORPUS = Corpus(
    name="r",
    how="a freelance developer with five clients who restates her house rules in each repo in other words and shapes (an order, a complaint, a reference back to another client, a passing condition), beside look-alike rules of one client each (measured once held out, tuned on since round 12)",
    projects=PROJECTS,
    sessions=SESSIONS,
    facts=FACTS,
    distractors=DISTRACTORS,
    forget="vm5",
    notes={
        "voice": "the same rule in two to three clients' repos, worded differently each time",
        "forget": "vm5 holds the .shopifyignore fact and the endschema fix; its debug rule is also said in gm1 and ib3",
    },
)
# fmt: on
