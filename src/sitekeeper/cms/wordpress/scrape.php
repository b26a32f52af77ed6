<?php
/*
 * sitekeeper's load check: loads the WordPress at DOCROOT as a request does (WordPress,
 * every active plugin, the theme's functions.php, up to `wp_loaded`) and reports a fatal
 * error with the file and line it came from. Read from stdin, run as the file owner:
 *
 *   php -- DOCROOT front|admin MARKER HOST < scrape.php
 *
 * `admin` defines WP_ADMIN first, so is_admin() is true and plugins load the code they
 * keep for wp-admin: WordPress's own scrape (6.6's rollback of a plugin auto-update)
 * loads only the home page, and a plugin that fatals only in wp-admin passes it.
 * WordPress's fatal-error handler is off (no recovery-mode mail, our shutdown function
 * sees the error), nothing leaves the site over HTTP, and whatever is printed is dropped:
 * the one result is a JSON line after MARKER. wp-load.php is required at GLOBAL scope
 * (wp-settings.php uses globals such as $plugin as loop variables).
 */

if (PHP_SAPI !== 'cli' || $argc !== 5) {
    fwrite(STDERR, "usage: php -- DOCROOT front|admin MARKER HOST < scrape.php\n");
    exit(2);
}
define('SK_ROOT', rtrim($argv[1], '/') . '/');
define('SK_MODE', $argv[2]);
define('SK_MARKER', $argv[3]);
define('WP_DISABLE_FATAL_ERROR_HANDLER', true);
if (SK_MODE === 'admin') {
    define('WP_ADMIN', true);
}

final class SK_Scrape
{
    public static $done = false;

    public static function emit(array $result)
    {
        if (self::$done) {
            return;
        }
        self::$done = true;
        while (ob_get_level() > 0) {
            ob_end_clean();
        }
        $result['content_dir'] = defined('WP_CONTENT_DIR') ? WP_CONTENT_DIR : '';
        $result['plugin_dir'] = defined('WP_PLUGIN_DIR') ? WP_PLUGIN_DIR : '';
        $result['mu_plugin_dir'] = defined('WPMU_PLUGIN_DIR') ? WPMU_PLUGIN_DIR : '';
        echo "\n", SK_MARKER, json_encode($result, JSON_PARTIAL_OUTPUT_ON_ERROR | JSON_INVALID_UTF8_SUBSTITUTE), "\n";
    }

    public static function shutdown()
    {
        if (self::$done) {
            return;
        }
        $error = error_get_last();
        $fatal = E_ERROR | E_PARSE | E_CORE_ERROR | E_COMPILE_ERROR | E_USER_ERROR | E_RECOVERABLE_ERROR;
        if ($error && ($error['type'] & $fatal)) {
            self::emit(array(
                'ok' => false,
                'type' => $error['type'],
                'message' => substr((string) $error['message'], 0, 8000),
                'file' => (string) $error['file'],
                'line' => (int) $error['line'],
            ));
        } else {
            // a plugin that ends the request itself (a redirect, an exit) did not fatal
            self::emit(array('ok' => true, 'ended' => 'early'));
        }
    }
}

register_shutdown_function(array('SK_Scrape', 'shutdown'));
ob_start(null, 1024 * 1024);

$_SERVER['HTTP_HOST'] = $argv[4];
$_SERVER['SERVER_NAME'] = $argv[4];
$_SERVER['REQUEST_METHOD'] = 'GET';
$_SERVER['REQUEST_URI'] = SK_MODE === 'admin' ? '/wp-admin/' : '/';
// Hooks set before WordPress loads (WP_Hook::build_preinitialized_hooks): no HTTP at all.
$wp_filter = array('pre_http_request' => array(999 => array(array(
    'function' => function () {
        return new WP_Error('sitekeeper_offline', 'no HTTP during a sitekeeper load check');
    },
    'accepted_args' => 1,
))));

require SK_ROOT . 'wp-load.php';   // GLOBAL scope, on purpose (see the top)
SK_Scrape::emit(array('ok' => true, 'ended' => 'loaded'));
