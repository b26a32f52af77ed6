<?php
/*
 * sitekeeper's WordPress upgrader: applies one verified local package with WordPress's own
 * upgrader classes, run over SSH with the site's `php` as the file owner.
 *
 *   php upgrader.php DOCROOT plugin|theme|core|db|unlock SLUG ZIP VERSION MARKER HOST
 *
 * Everything the run needs is in constants: wp-settings.php uses globals such as $plugin
 * and $theme as loop variables, so wp-load.php is required at GLOBAL scope (inside a
 * function it would run in that function's scope) and no state lives in globals of ours.
 * `db` runs wp_upgrade() in a fresh process after a core update: the process that copied
 * the files still holds the old release's upgrade routines.
 * The one result is a JSON line after MARKER on stdout; a fatal error still prints it
 * (shutdown function), and .maintenance is removed whatever happens.
 */

if (PHP_SAPI !== 'cli' || $argc !== 8) {
    fwrite(STDERR, "usage: php upgrader.php DOCROOT MODE SLUG ZIP VERSION MARKER HOST\n");
    exit(2);
}
define('SK_ROOT', rtrim($argv[1], '/') . '/');
define('SK_MODE', $argv[2]);
define('SK_SLUG', $argv[3]);
define('SK_ZIP', $argv[4]);
define('SK_VERSION', $argv[5]);
define('SK_MARKER', $argv[6]);
define('SK_MESSAGES', 200);
define('WP_DISABLE_FATAL_ERROR_HANDLER', true); // a fatal must reach our shutdown function

final class SK
{
    public static $done = false;
    public static $stage = 'load';
    public static $result = array();
    public static $skin = null;

    public static function emit(array $result)
    {
        if (self::$done) {
            return;
        }
        self::$done = true;
        while (ob_get_level() > 0) {
            ob_end_clean(); // whatever plugins printed is not our result
        }
        $result['stage'] = self::$stage;
        $result['messages'] = self::messages();
        echo "\n", SK_MARKER, json_encode($result, JSON_PARTIAL_OUTPUT_ON_ERROR | JSON_INVALID_UTF8_SUBSTITUTE), "\n";
    }

    public static function messages()
    {
        $said = array();
        if (self::$skin !== null) {
            foreach (self::$skin->get_upgrade_messages() as $line) {
                $said[] = substr(strip_tags(html_entity_decode((string) $line)), 0, 500);
            }
        }
        return array_slice($said, -SK_MESSAGES);
    }

    public static function maintenance_off()
    {
        $file = SK_ROOT . '.maintenance';
        if (file_exists($file)) {
            @unlink($file);
        }
        return !file_exists($file);
    }

    public static function shutdown()
    {
        $cleared = self::maintenance_off();
        if (!self::$done && SK_MODE === 'core' && function_exists('delete_option')) {
            delete_option('core_updater.lock'); // else the next try waits 15 minutes
        }
        if (!self::$done) {
            $error = error_get_last();
            // an uncaught error's message is "... in FILE:LINE" and then the stack trace
            $what = $error ? strtok($error['message'], "\n")
                : 'the program ended before it finished';
            self::emit(array('ok' => false, 'error' => 'PHP died: ' . $what, 'maintenance_cleared' => $cleared));
        }
    }
}

register_shutdown_function(array('SK', 'shutdown'));
ob_start(null, 1024 * 1024); // bounded: anything printed while WordPress runs is dropped

$_SERVER['HTTP_HOST'] = $argv[7];
$_SERVER['SERVER_NAME'] = $argv[7];
$_SERVER['REQUEST_METHOD'] = 'GET';
$_SERVER['REQUEST_URI'] = '/';

require SK_ROOT . 'wp-load.php';   // GLOBAL scope, on purpose (see the top)
require_once ABSPATH . 'wp-admin/includes/admin.php';
require_once ABSPATH . 'wp-admin/includes/class-wp-upgrader.php';
SK::$stage = 'prepare';

// The package is the verified local one: the site fetches nothing during the update
// (no checksum look-up, no translations, no loopback to upgrade.php: wp_upgrade runs here).
add_filter('pre_http_request', function () {
    return new WP_Error('sitekeeper_offline', 'no HTTP during a sitekeeper update');
}, 999);

function sk_fail($error, array $extra = array())
{
    SK::emit(array_merge(array('ok' => false, 'error' => $error), $extra));
    exit(1);
}

if (SK_MODE === 'plugin' || SK_MODE === 'theme' || SK_MODE === 'core') {
    if (!function_exists('get_filesystem_method')) {
        require_once ABSPATH . 'wp-admin/includes/file.php';
    }
    $method = get_filesystem_method(array(), ABSPATH . 'wp-content');
    if ($method !== 'direct') {
        sk_fail("WordPress would not write its files directly as this user (method: $method): "
            . 'the files are not owned by the user sitekeeper logs in as');
    }
    if (!WP_Filesystem()) {
        sk_fail('WordPress could not start its direct filesystem');
    }
    if (!is_file(SK_ZIP)) {
        sk_fail('the uploaded package is missing');
    }
}

if (SK_MODE === 'plugin') {
    $files = array_keys(get_plugins('/' . SK_SLUG));
    if (count($files) !== 1) {
        sk_fail(sprintf('%d plugin files in %s/ (expected one)', count($files), SK_SLUG));
    }
    define('SK_PLUGIN', SK_SLUG . '/' . $files[0]);
    $was_active = is_plugin_active(SK_PLUGIN);
    add_filter('site_transient_update_plugins', function ($value) {
        $value = is_object($value) ? $value : new stdClass();
        $value->response = isset($value->response) && is_array($value->response) ? $value->response : array();
        $value->response[SK_PLUGIN] = (object) array(
            'slug' => SK_SLUG, 'plugin' => SK_PLUGIN, 'new_version' => SK_VERSION, 'package' => SK_ZIP,
        );
        return $value;
    }, 999);
    SK::$skin = new Automatic_Upgrader_Skin();
    $upgrader = new Plugin_Upgrader(SK::$skin);
    SK::$stage = 'upgrade';
    $results = $upgrader->bulk_upgrade(array(SK_PLUGIN));
    $outcome = is_array($results) && array_key_exists(SK_PLUGIN, $results) ? $results[SK_PLUGIN] : null;
    SK::$stage = 'finish';
    wp_cache_flush();
    SK::maintenance_off();
    SK::emit(array(
        'ok' => is_array($outcome), // true means "up to date": nothing was installed
        'error' => is_wp_error($outcome) ? $outcome->get_error_message() : ($outcome ? '' : 'the upgrader returned nothing'),
        'active_before' => $was_active,
        'active_after' => is_plugin_active(SK_PLUGIN),
        'plugin_file' => SK_PLUGIN,
    ));
} elseif (SK_MODE === 'theme') {
    if (!wp_get_theme(SK_SLUG)->exists()) {
        sk_fail('the theme ' . SK_SLUG . ' is not installed');
    }
    add_filter('site_transient_update_themes', function ($value) {
        $value = is_object($value) ? $value : new stdClass();
        $value->response = isset($value->response) && is_array($value->response) ? $value->response : array();
        $value->response[SK_SLUG] = array(
            'theme' => SK_SLUG, 'new_version' => SK_VERSION, 'url' => '', 'package' => SK_ZIP,
        );
        return $value;
    }, 999);
    SK::$skin = new Automatic_Upgrader_Skin();
    $upgrader = new Theme_Upgrader(SK::$skin);
    SK::$stage = 'upgrade';
    $results = $upgrader->bulk_upgrade(array(SK_SLUG));
    $outcome = is_array($results) && array_key_exists(SK_SLUG, $results) ? $results[SK_SLUG] : null;
    SK::$stage = 'finish';
    wp_cache_flush();
    SK::maintenance_off();
    SK::emit(array(
        'ok' => is_array($outcome), // true means "up to date": nothing was installed
        'error' => is_wp_error($outcome) ? $outcome->get_error_message() : ($outcome ? '' : 'the upgrader returned nothing'),
        'active_after' => get_stylesheet() === SK_SLUG || get_template() === SK_SLUG,
    ));
} elseif (SK_MODE === 'core') {
    /** Keeps the uploaded zip: the stock unpack_package() deletes the package it unpacked. */
    class SK_Core_Upgrader extends Core_Upgrader
    {
        public function unpack_package($package, $delete_package = false)
        {
            return parent::unpack_package($package, false);
        }
    }
    SK::$skin = new Automatic_Upgrader_Skin();
    $upgrader = new SK_Core_Upgrader(SK::$skin);
    $offer = (object) array(
        'response' => 'upgrade', 'current' => SK_VERSION, 'version' => SK_VERSION,
        'locale' => get_locale(), 'php_version' => '', 'mysql_version' => '',
        'new_bundled' => '', 'partial_version' => '',
        'packages' => (object) array(
            'full' => SK_ZIP, 'no_content' => false, 'new_bundled' => false,
            'partial' => false, 'rollback' => false,
        ),
    );
    SK::$stage = 'upgrade';
    $outcome = $upgrader->upgrade($offer, array('pre_check_md5' => false, 'attempt_rollback' => false));
    SK::$stage = 'finish';
    SK::maintenance_off();
    SK::emit(array(
        'ok' => is_string($outcome),
        'error' => is_wp_error($outcome) ? $outcome->get_error_code() . ': ' . $outcome->get_error_message()
            : (is_string($outcome) ? '' : 'the upgrader returned nothing'),
    ));
} elseif (SK_MODE === 'db') {
    require_once ABSPATH . 'wp-admin/includes/upgrade.php';
    SK::$stage = 'upgrade';
    $before = (int) get_option('db_version');
    wp_upgrade();
    wp_cache_flush();
    SK::$stage = 'finish';
    wp_cache_delete('alloptions', 'options');
    SK::emit(array(
        'ok' => true,
        'error' => '',
        'db_before' => $before,
        'db_after' => (int) get_option('db_version'),
        'wp_db_version' => (int) $GLOBALS['wp_db_version'],
    ));
} elseif (SK_MODE === 'unlock') {
    // after a core upgrade that was killed (no shutdown function ran): the next try
    // would wait out the 15-minute lock
    SK::emit(array('ok' => delete_option('core_updater.lock') || !get_option('core_updater.lock'), 'error' => ''));
} else {
    sk_fail('unknown mode');
}
