# Sample install script for the intunewin README example.
$ErrorActionPreference = 'Stop'
$target = Join-Path $env:ProgramFiles 'Contoso\SampleApp'
New-Item -ItemType Directory -Force -Path $target | Out-Null
Copy-Item -Path (Join-Path $PSScriptRoot 'Files\*') -Destination $target -Recurse -Force
Write-Output "Installed Contoso SampleApp to $target"
exit 0
