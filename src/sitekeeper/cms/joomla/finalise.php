<?php

/**
 * sitekeeper: finish a Joomla 4/5 core update whose new files are already in place.
 *
 * What Joomla's own `core:update` does after copying the Update_Package over the site
 * (UpdateCoreCommand::updateJoomlaCore): the administrator's update model's
 * finaliseUpgrade() (manifest cache, schema updates from com_admin's sql/updates, the
 * file extension's update and postflight), then administrator/cache/autoload_psr4.php
 * and a stray joomla.xml removed and the update cache purged. Joomla is booted the way
 * its cli/joomla.php boots it (the console application and CLI sessions), but not run.
 *
 * Usage: php finalise.php DOCROOT MARKER
 * Prints one line "MARKER {json}" with ok and the model's errors; exit 0 when finalised,
 * 2 when finaliseUpgrade failed or reported errors (as core:update's "finished with
 * errors"), 3 when Joomla could not be booted.
 */

const _JEXEC = 1;

$root = $argv[1] ?? '';
$marker = $argv[2] ?? 'SITEKEEPER';

function sk_say(string $marker, array $result): void
{
    echo "\n" . $marker . ' ' . json_encode($result, JSON_UNESCAPED_SLASHES) . "\n";
}

if ($root === '' || !is_file($root . '/includes/defines.php')) {
    sk_say($marker, ['ok' => false, 'stage' => 'boot', 'errors' => ['no includes/defines.php']]);
    exit(3);
}

ob_start(null, 1024 * 1024); // Joomla may print: kept out of the marker line
try {
    define('JPATH_BASE', $root);
    require_once JPATH_BASE . '/includes/defines.php';
    require_once JPATH_BASE . '/includes/framework.php';
    $container = \Joomla\CMS\Factory::getContainer();
    $container->alias('session', 'session.cli')
        ->alias('JSession', 'session.cli')
        ->alias(\Joomla\CMS\Session\Session::class, 'session.cli')
        ->alias(\Joomla\Session\Session::class, 'session.cli')
        ->alias(\Joomla\Session\SessionInterface::class, 'session.cli');
    $app = $container->get(\Joomla\Console\Application::class);
    \Joomla\CMS\Factory::$application = $app;
    $model = $app->bootComponent('com_joomlaupdate')->getMVCFactory($app)
        ->createModel('Update', 'Administrator', ['ignore_request' => true]);
} catch (\Throwable $e) {
    ob_end_clean();
    sk_say($marker, ['ok' => false, 'stage' => 'boot', 'errors' => [get_class($e) . ': ' . $e->getMessage()]]);
    exit(3);
}

$errors = [];
try {
    $ok = (bool) $model->finaliseUpgrade();
    foreach ((array) $model->getErrors() as $error) {
        $errors[] = $error instanceof \Throwable ? $error->getMessage() : (string) $error;
    }
    if ($ok) {
        foreach ([JPATH_ADMINISTRATOR . '/cache/autoload_psr4.php', JPATH_BASE . '/joomla.xml'] as $stale) {
            if (is_file($stale) && !unlink($stale)) {
                $errors[] = 'could not remove ' . $stale;
            }
        }
        $model->purge();
    }
} catch (\Throwable $e) {
    $ok = false;
    $errors[] = get_class($e) . ': ' . $e->getMessage();
}
ob_end_clean();
sk_say($marker, ['ok' => $ok && !$errors, 'stage' => 'finalise', 'errors' => array_slice($errors, 0, 20)]);
exit($ok && !$errors ? 0 : 2);
